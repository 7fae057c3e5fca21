package console

import (
	"context"
	"encoding/json"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"kioskd/cloudlink/contract"
)

const (
	maxBatch     = 256 // events stored in one transaction
	recentEvents = 50  // events kept for the page's "latest events"
	retryPause   = time.Second
)

// onEvent is paho's handler for the shared events subscription: decode and
// hand over, never block.
func (c *Console) onEvent(_ mqtt.Client, m mqtt.Message) {
	kiosk, ok := c.root.kioskOf(m.Topic(), leafEvents)
	if !ok {
		c.log.Warn("station: event on an unexpected topic", "topic", m.Topic())
		return
	}
	var ev contract.Event
	if err := json.Unmarshal(m.Payload(), &ev); err != nil || ev.ID == "" {
		// Without an id it cannot be acked or deduped; the kiosk never sends one.
		c.log.Warn("station: unreadable event; not stored, not acked", "kiosk", kiosk, "err", err)
		return
	}
	if ev.Kiosk != kiosk {
		c.log.Warn("station: event names another kiosk than its topic; filed under the topic's", "topic_kiosk", kiosk, "event_kiosk", ev.Kiosk, "id", ev.ID)
	}
	payload := append([]byte(nil), m.Payload()...)
	select {
	case c.intake <- Received{Kiosk: kiosk, Event: ev, Payload: payload}:
	default:
		c.dropped.Add(1) // not acked: the kiosk sends it again
	}
}

// storeLoop stores events in batches and acks each batch once it is on
// disk, until ctx is done.
func (c *Console) storeLoop(ctx context.Context) {
	for {
		var batch []Received
		select {
		case <-ctx.Done():
			return
		case r := <-c.intake:
			batch = append(batch, r)
		}
	fill:
		for len(batch) < maxBatch {
			select {
			case r := <-c.intake:
				batch = append(batch, r)
			default:
				break fill
			}
		}
		if !c.storeAndAck(batch) {
			select { // a failing disk: pause rather than spin; the kiosks re-send
			case <-ctx.Done():
				return
			case <-time.After(retryPause):
			}
		}
	}
}

// storeAndAck stores one batch, then acks every event in it, new or
// duplicate. Nothing is acked unless the batch is committed.
func (c *Console) storeAndAck(batch []Received) bool {
	stored, err := c.store.PutEvents(batch)
	if err != nil {
		c.log.Error("station: could not store events; not acking them", "n", len(batch), "err", err)
		c.mu.Lock()
		c.counts.StoreFails++
		c.mu.Unlock()
		c.changed()
		return false
	}
	c.record(batch, stored)
	ids := map[string][]string{} // kiosk → event ids
	for _, r := range batch {
		ids[r.Kiosk] = append(ids[r.Kiosk], r.Event.ID)
	}
	for kiosk, list := range ids {
		c.ack(kiosk, list)
	}
	return true
}

// record updates gaps, counts and the recent list after a batch is stored.
func (c *Console) record(batch []Received, stored []Stored) {
	now := time.Now()
	c.mu.Lock()
	for i, r := range batch {
		if !stored[i].New {
			c.counts.Duplicates++
			continue
		}
		c.counts.Stored++
		c.gaps.Add(r.Kiosk, stored[i].Gen, r.Event.Seq, now)
		c.recent = append(c.recent, r)
		c.kiosk(r.Kiosk).lastEvent = now
		c.observe(r.Kiosk, r.Event, now)
	}
	if n := len(c.recent); n > recentEvents {
		c.recent = append([]Received(nil), c.recent[n-recentEvents:]...)
	}
	c.mu.Unlock()
	c.changed()
}

// ack tells one kiosk that its events are stored, signed for the kiosk's
// boot as its latest status or heartbeat gave it. A lost or refused ack (the
// kiosk restarted meanwhile) costs a re-send, which is deduped.
func (c *Console) ack(kiosk string, ids []string) {
	topics, err := c.root.topics(kiosk)
	if err != nil {
		c.log.Error("station: no ack topic", "kiosk", kiosk, "err", err)
		return
	}
	boot := c.boots.Of(kiosk)
	if boot == 0 {
		c.log.Warn("station: no status from the kiosk yet; not acking, it will re-send", "kiosk", kiosk, "n", len(ids))
		return
	}
	b, err := contract.SignAck(c.cfg.Key, contract.Ack{Kiosk: kiosk, BootEpoch: boot, IDs: ids})
	if err != nil {
		c.log.Error("station: sign ack", "err", err)
		return
	}
	if err := c.publish(topics.Acks(), b); err != nil {
		c.log.Warn("station: ack not sent; the kiosk will re-send", "kiosk", kiosk, "n", len(ids), "err", err)
	}
}
