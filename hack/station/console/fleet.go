package console

import (
	"encoding/json"
	"errors"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"kioskd/cloudlink/contract"
)

// kioskInfo is the last word of one kiosk on each retained topic, with when
// it was said as well as the station can tell (see sentAt).
type kioskInfo struct {
	status      *contract.Availability
	statusAt    time.Time
	heartbeat   *contract.Heartbeat
	cameras     []contract.CameraStatus // from the heartbeat or the cameras topic, whichever came last
	heartbeatAt time.Time
	state       *contract.State
	incidents   []map[string]any // the state's incidents, every field as sent
	lastEvent   time.Time
}

// kiosk returns the info of one kiosk, creating it; c.mu must be held.
func (c *Console) kiosk(id string) *kioskInfo {
	k := c.fleet[id]
	if k == nil {
		k = &kioskInfo{}
		c.fleet[id] = k
	}
	return k
}

// decode decodes a message on one of the per-kiosk topics into v and
// returns its kiosk, or false if it is not one. An empty retained message
// clears the topic and is ignored.
func (c *Console) decode(m mqtt.Message, leaf string, v any) (string, bool) {
	kiosk, ok := c.root.kioskOf(m.Topic(), leaf)
	if !ok || len(m.Payload()) == 0 {
		return "", false
	}
	if err := json.Unmarshal(m.Payload(), v); err != nil {
		c.log.Warn("station: unreadable message", "topic", m.Topic(), "err", err)
		return "", false
	}
	return kiosk, true
}

// sentAt is when a message was sent, as well as the station can tell: now
// for a live message; for a retained one, delivered because we subscribed
// and possibly old, the kiosk's own stamp if its clock is trusted and the
// stamp is not in the future.
func sentAt(m mqtt.Message, stamp time.Time, synced bool) time.Time {
	now := time.Now()
	if m.Retained() && synced && !stamp.IsZero() && stamp.Before(now) {
		return stamp
	}
	return now
}

// onRetained returns the handler of a per-kiosk topic whose messages are
// of type T: it decodes one, files it in its kiosk's info with keep (c.mu
// held), and tells the viewers.
func onRetained[T any](c *Console, leaf string, keep func(kiosk string, k *kioskInfo, v *T, m mqtt.Message)) mqtt.MessageHandler {
	return func(_ mqtt.Client, m mqtt.Message) {
		v := new(T)
		kiosk, ok := c.decode(m, leaf, v)
		if !ok {
			return
		}
		c.mu.Lock()
		keep(kiosk, c.kiosk(kiosk), v, m)
		c.mu.Unlock()
		c.changed()
	}
}

func (c *Console) keepStatus(kiosk string, k *kioskInfo, a *contract.Availability, m mqtt.Message) {
	c.boots.See(kiosk, a.BootEpoch)
	k.status, k.statusAt = a, sentAt(m, a.Time, true)
}

func (c *Console) keepHeartbeat(kiosk string, k *kioskInfo, hb *contract.Heartbeat, m mqtt.Message) {
	c.boots.See(kiosk, hb.BootEpoch)
	k.heartbeat, k.cameras, k.heartbeatAt = hb, hb.Cameras, sentAt(m, hb.Time, hb.ClockSynced)
}

// keepCameras takes the retained camera report, sent when a camera's state
// changes: between heartbeats it is the fresher word.
func keepCameras(_ string, k *kioskInfo, r *contract.CameraReport, _ mqtt.Message) {
	k.cameras = r.Cameras
}

// keepState keeps the state, and its incidents with every field as sent.
func keepState(_ string, k *kioskInfo, st *contract.State, m mqtt.Message) {
	var raw struct {
		Incidents []map[string]any `json:"incidents"`
	}
	_ = json.Unmarshal(m.Payload(), &raw)
	k.state, k.incidents = st, raw.Incidents
}

// onReply files a reply with the command it answers. Replies to commands
// of other station instances are not ours to show.
func (c *Console) onReply(_ mqtt.Client, m mqtt.Message) {
	var r contract.Reply
	kiosk, ok := c.decode(m, leafReplies, &r)
	if !ok {
		return
	}
	r.Kiosk = kiosk // the topic, which the broker's ACL vouches for
	sent, err := c.store.PutReply(r, time.Now())
	if errors.Is(err, errNoCommand) {
		return
	}
	if err != nil {
		c.log.Error("station: reply not recorded", "command", r.Command, "err", err)
		return
	}
	c.mu.Lock()
	c.commands[sent.ID] = &sent
	c.mu.Unlock()
	c.post.replied(r) // its kiosk's courier may send the next command
	c.changed()
}
