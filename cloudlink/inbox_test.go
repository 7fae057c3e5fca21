package cloudlink

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"kioskd/cloudlink/contract"
	"kioskd/hack/brokertest"
)

// gateKiosk is a fakeKiosk whose Command waits until the gate opens, as a
// kiosk stuck on a slow disk would.
type gateKiosk struct {
	*fakeKiosk
	entered chan struct{} // one per Command call
	gate    chan struct{}
}

func (k *gateKiosk) Command(ctx context.Context, payload []byte) contract.Reply {
	k.entered <- struct{}{}
	<-k.gate
	return k.fakeKiosk.Command(ctx, payload)
}

func counterCommand(n int) []byte {
	return []byte(seal(fmt.Sprintf(`{"v":1,"id":"c%d","kiosk":"kiosk-test-1","name":"message","args":{"incident":"i1"},"counter":%d}`, n, n)))
}

// TestCommandQueueFull: with the kiosk stuck on one command, the link keeps
// reading the connection (an event is shipped and its ack recorded), queues
// commandQueue commands, answers the rest busy at once, and then applies the
// queued ones in the order they arrived.
func TestCommandQueueFull(t *testing.T) {
	const extra = 10
	broker := brokertest.Start(t)
	cfg := testConfig(t, broker.URL())
	platform := brokertest.Connect(t, broker.URL())
	replies := platform.Subscribe(cfg.Topics.Replies())
	events := platform.Subscribe(cfg.Topics.Events())
	kiosk := &gateKiosk{fakeKiosk: newKiosk(), entered: make(chan struct{}, 2*commandQueue), gate: make(chan struct{})}
	outbox := newOutbox()
	link, _ := runLink(t, cfg, outbox, kiosk)
	waitFor(t, "connected", func() bool { return link.Status().Connected })
	defer func() {
		select {
		case <-kiosk.gate:
		default:
			close(kiosk.gate) // a failed test must not leave the link stuck
		}
	}()

	platform.Publish(cfg.Topics.Commands(), counterCommand(1), false)
	select {
	case <-kiosk.entered:
	case <-time.After(waitLong):
		t.Fatal("the first command never reached the kiosk")
	}
	last := 1 + commandQueue + extra
	for n := 2; n <= last; n++ {
		platform.Publish(cfg.Topics.Commands(), counterCommand(n), false)
	}
	for n := 2 + commandQueue; n <= last; n++ {
		r := nextReply(t, replies)
		if r.Command != fmt.Sprintf("c%d", n) || r.OK || r.Error == nil || r.Error.Code != contract.ErrBusy {
			t.Errorf("reply %+v, want busy for c%d", r, n)
		}
	}
	if got := link.Status().CommandsBusy; got != extra {
		t.Errorf("Status().CommandsBusy = %d, want %d", got, extra)
	}

	ev := outbox.add(1)[0] // the link still ships and hears acks while the kiosk is stuck
	link.Notify()
	if got := nextEvent(t, events); got.ID != ev.ID {
		t.Fatalf("shipped %s, want %s", got.ID, ev.ID)
	}
	sendAck(t, platform, cfg.Topics, ev.ID)
	waitFor(t, "the ack recorded while a command is stuck", func() bool { return outbox.unacked() == 0 })

	close(kiosk.gate)
	for n := 1; n <= 1+commandQueue; n++ {
		if r := nextReply(t, replies); r.Command != fmt.Sprintf("c%d", n) || !r.OK {
			t.Fatalf("reply %+v, want ok for c%d (in arrival order)", r, n)
		}
	}
	for i, cmd := range kiosk.commands() {
		if cmd.Counter != uint64(i+1) {
			t.Errorf("command %d applied was counter %d, want %d: out of arrival order", i, cmd.Counter, i+1)
		}
	}
	if got := link.Status().InboundDropped; got != 0 {
		t.Errorf("Status().InboundDropped = %d, want 0", got)
	}
}

func nextReply(t *testing.T, ch <-chan brokertest.Message) contract.Reply {
	t.Helper()
	m := brokertest.Next(t, ch, waitLong)
	var r contract.Reply
	if err := json.Unmarshal(m.Payload, &r); err != nil {
		t.Fatalf("reply %q: %v", m.Payload, err)
	}
	return r
}

// message is an incoming MQTT message as paho hands it to a handler.
type message struct{ payload []byte }

func (m message) Duplicate() bool   { return false }
func (m message) Qos() byte         { return 1 }
func (m message) Retained() bool    { return false }
func (m message) Topic() string     { return "t" }
func (m message) MessageID() uint16 { return 1 }
func (m message) Payload() []byte   { return m.payload }
func (m message) Ack()              {}

// TestHandlersNeverWait: with every queue full, the handlers return at once
// (paho reads nothing from the connection while one runs) and count what
// they dropped.
func TestHandlersNeverWait(t *testing.T) {
	l := New(Config{KioskID: testKiosk}, newOutbox(), newKiosk(), nil)
	s := &session{l: l, cfg: l.cfg, ackMsgs: make(chan []byte, 1), cmds: make(chan []byte, 1),
		busy: make(chan []byte, 1), done: make(chan struct{})}
	s.ackMsgs <- []byte("full")
	s.cmds <- []byte("full")
	s.busy <- []byte("full")
	returned := make(chan struct{})
	go func() {
		s.onCommand(nil, message{counterCommand(1)})
		s.onAck(nil, message{[]byte("an ack")})
		close(returned)
	}()
	select {
	case <-returned:
	case <-time.After(waitLong):
		t.Fatal("a handler waited on a full queue")
	}
	if got := l.Status().InboundDropped; got != 2 {
		t.Errorf("Status().InboundDropped = %d, want 2 (a command and an ack)", got)
	}
}
