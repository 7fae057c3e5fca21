package main

import (
	"encoding/json"
	"fmt"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"kioskd/cloudlink/contract"
)

// The harness commands a kiosk as doc.md asks of a platform: one command at
// a time, waiting for its reply, and the same signed message again when no
// reply comes (a copy of a command the kiosk accepted gets its first reply
// again, never a second application).
const (
	// replyWait: a reply takes milliseconds; 5 s covers a kioskd busy with
	// a restart's reconcile on a loaded machine, and a lost message.
	replyWait = 5 * time.Second
	// commandTries bounds the sends of one command: 3 × replyWait.
	commandTries = 3
	busyPause    = 200 * time.Millisecond
)

// sendUntilAnswered publishes msg, the signed command id, on a connection
// of its own and waits for the kiosk's reply, sending the same message
// again after replyWait (and after busy), at most commandTries times. A
// reply other than ok (or duplicate, which says the command was accepted
// before) is an error that names its code.
func (p *platform) sendUntilAnswered(id, name string, msg []byte) error {
	replies := make(chan contract.Reply, 16)
	opts := mqtt.NewClientOptions().AddBroker(p.url).SetClientID(id).SetCleanSession(true).
		SetAutoReconnect(false).SetConnectTimeout(opTimeout).SetWriteTimeout(opTimeout)
	c := mqtt.NewClient(opts)
	defer c.Disconnect(100)
	if err := mqtt.WaitTokenTimeout(c.Connect(), opTimeout); err != nil {
		return fmt.Errorf("command %s: connect: %w", name, err)
	}
	onReply := func(_ mqtt.Client, m mqtt.Message) {
		var r contract.Reply
		if json.Unmarshal(m.Payload(), &r) == nil && r.Command == id {
			select {
			case replies <- r:
			default: // one reply per send is all we read
			}
		}
	}
	if err := mqtt.WaitTokenTimeout(c.Subscribe(p.topics.Replies(), 1, onReply), opTimeout); err != nil {
		return fmt.Errorf("command %s: subscribe to replies: %w", name, err)
	}
	for try := 1; try <= commandTries; try++ {
		if err := mqtt.WaitTokenTimeout(c.Publish(p.topics.Commands(), 1, false, msg), opTimeout); err != nil {
			return fmt.Errorf("command %s: publish: %w", name, err)
		}
		r, ok := waitReply(replies, replyWait)
		switch {
		case !ok: // no reply: the same message again
		case r.OK, r.Error != nil && r.Error.Code == contract.ErrDuplicate:
			return nil
		case r.Error != nil && r.Error.Code == contract.ErrBusy:
			time.Sleep(busyPause)
		default:
			return fmt.Errorf("command %s %s answered %+v", name, id, r.Error)
		}
	}
	return fmt.Errorf("command %s %s: no reply to %d sends %v apart", name, id, commandTries, replyWait)
}

func waitReply(replies <-chan contract.Reply, d time.Duration) (contract.Reply, bool) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case r := <-replies:
		return r, true
	case <-t.C:
		return contract.Reply{}, false
	}
}
