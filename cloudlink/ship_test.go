package cloudlink

import (
	"encoding/json"
	"reflect"
	"slices"
	"testing"
	"time"

	"kioskd/cloudlink/contract"
	"kioskd/hack/brokertest"
)

func TestEventsCarryEnvelope(t *testing.T) {
	broker := brokertest.Start(t)
	cfg := testConfig(t, broker.URL())
	platform := brokertest.Connect(t, broker.URL())
	events := platform.Subscribe(cfg.Topics.Events())
	outbox := newOutbox()
	want := outbox.add(3)
	runLink(t, cfg, outbox, newKiosk())

	for i := range want {
		m := brokertest.Next(t, events, waitLong)
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(m.Payload, &fields); err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		for _, key := range []string{"v", "id", "kiosk", "boot_epoch", "seq", "type", "time", "clock_synced"} {
			if _, ok := fields[key]; !ok {
				t.Errorf("event %d: no %q in %s", i, key, m.Payload)
			}
		}
		var got contract.Event
		if err := json.Unmarshal(m.Payload, &got); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want[i]) {
			t.Errorf("event %d: got %+v, want %+v", i, got, want[i])
		}
		if m.Retained {
			t.Errorf("event %d: got retained, want not retained", i)
		}
	}
}

func TestEventsLeaveOutboxOnlyWhenAcked(t *testing.T) {
	broker := brokertest.Start(t)
	cfg := testConfig(t, broker.URL())
	cfg.AckTimeout = time.Minute // no resends in this test
	platform := brokertest.Connect(t, broker.URL())
	events := platform.Subscribe(cfg.Topics.Events())
	outbox := newOutbox()
	outbox.add(3)
	link, _ := runLink(t, cfg, outbox, newKiosk())

	for range 3 {
		nextEvent(t, events)
	}
	time.Sleep(200 * time.Millisecond) // PUBACKs are in; nothing may be removed for them
	if got, want := outbox.unacked(), 3; got != want {
		t.Fatalf("unacked after PUBACK: got %d, want %d", got, want)
	}
	if got, want := link.Status().InFlight, 3; got != want {
		t.Errorf("in flight: got %d, want %d", got, want)
	}

	sendAck(t, platform, cfg.Topics, "ev-1", "ev-3")
	waitFor(t, "two events acked", func() bool { return outbox.unacked() == 1 })
	waitFor(t, "one event in flight", func() bool { return link.Status().InFlight == 1 })

	sendAck(t, platform, cfg.Topics, "ev-2")
	waitFor(t, "all acked", func() bool { return outbox.unacked() == 0 })
	waitFor(t, "nothing in flight", func() bool { return link.Status().InFlight == 0 })
}

func TestUnackedEventsAreResentInSeqOrder(t *testing.T) {
	broker := brokertest.Start(t)
	cfg := testConfig(t, broker.URL())
	cfg.AckTimeout = 300 * time.Millisecond
	platform := brokertest.Connect(t, broker.URL())
	events := platform.Subscribe(cfg.Topics.Events())
	outbox := newOutbox()
	outbox.add(3)
	runLink(t, cfg, outbox, newKiosk())

	var got []uint64
	for range 6 { // the first send and one resend
		got = append(got, nextEvent(t, events).Seq)
	}
	if want := []uint64{1, 2, 3, 1, 2, 3}; !slices.Equal(got, want) {
		t.Fatalf("seqs: got %v, want %v", got, want)
	}
	sendAck(t, platform, cfg.Topics, "ev-1", "ev-2", "ev-3")
	waitFor(t, "all acked", func() bool { return outbox.unacked() == 0 })
	for len(events) > 0 { // drop resends that crossed the ack
		<-events
	}
	expectNone(t, events, 3*cfg.AckTimeout)
}

func TestWindowLimitsEventsInFlight(t *testing.T) {
	broker := brokertest.Start(t)
	cfg := testConfig(t, broker.URL())
	cfg.Window = 4
	cfg.AckTimeout = time.Minute
	platform := brokertest.Connect(t, broker.URL())
	events := platform.Subscribe(cfg.Topics.Events())
	outbox := newOutbox()
	outbox.add(10)
	runLink(t, cfg, outbox, newKiosk())

	var got []uint64
	for range 4 {
		got = append(got, nextEvent(t, events).Seq)
	}
	expectNone(t, events, 300*time.Millisecond)
	sendAck(t, platform, cfg.Topics, "ev-1", "ev-2")
	for range 2 {
		got = append(got, nextEvent(t, events).Seq)
	}
	expectNone(t, events, 300*time.Millisecond)
	if want := []uint64{1, 2, 3, 4, 5, 6}; !slices.Equal(got, want) {
		t.Errorf("seqs: got %v, want %v", got, want)
	}
}

// The broker goes away, 100 events are journaled meanwhile, the broker comes
// back: all 100 arrive, in seq order, and leave the outbox once acked.
func TestEventsSurviveBrokerRestart(t *testing.T) {
	broker := brokertest.Start(t)
	proxy := brokertest.StartProxy(t, broker.Addr())
	cfg := testConfig(t, proxy.URL())
	outbox := newOutbox()
	link, _ := runLink(t, cfg, outbox, newKiosk())
	waitFor(t, "first connect", func() bool { return link.Status().Connected })

	broker.Stop()
	waitFor(t, "link to notice", func() bool { return !link.Status().Connected })
	outbox.add(100)
	link.Notify()
	proxy.Stall() // hold the link back until the platform listens again
	broker.Restart()
	platform := brokertest.Connect(t, broker.URL())
	events := platform.Subscribe(cfg.Topics.Events())
	proxy.Resume()

	// Count first deliveries only: a session dropped on the way re-sends from the oldest.
	var got []uint64
	seen := map[uint64]bool{}
	for len(got) < 100 {
		ev := nextEvent(t, events)
		sendAck(t, platform, cfg.Topics, ev.ID)
		if !seen[ev.Seq] {
			seen[ev.Seq] = true
			got = append(got, ev.Seq)
		}
	}
	for i, seq := range got {
		if seq != uint64(i+1) {
			t.Fatalf("first delivery %d: got seq %d, want %d (all: %v)", i, seq, i+1, got)
		}
	}
	waitFor(t, "all 100 acked", func() bool { return outbox.unacked() == 0 })
	if got := link.Status().Reconnects; got < 1 {
		t.Errorf("reconnects: got %d, want at least 1", got)
	}
}

// A broker that stops answering must not stall the link: the publish times
// out, the session is dropped and the link reconnects by itself.
func TestStalledBrokerEndsSession(t *testing.T) {
	broker := brokertest.Start(t)
	proxy := brokertest.StartProxy(t, broker.Addr())
	cfg := testConfig(t, proxy.URL())
	cfg.OpTimeout = 300 * time.Millisecond
	outbox := newOutbox()
	link, _ := runLink(t, cfg, outbox, newKiosk())
	waitFor(t, "first connect", func() bool { return link.Status().Connected })
	platform := brokertest.Connect(t, broker.URL())
	events := platform.Subscribe(cfg.Topics.Events())

	proxy.Stall()
	outbox.add(1)
	link.Notify()
	waitFor(t, "session to time out", func() bool { return !link.Status().Connected })
	if got := link.Status().LastError; got == "" {
		t.Errorf("last error: got none, want the timeout")
	}
	proxy.Resume()
	waitFor(t, "reconnect", func() bool { return link.Status().Connected })

	ev := nextEvent(t, events)
	sendAck(t, platform, cfg.Topics, ev.ID)
	waitFor(t, "acked", func() bool { return outbox.unacked() == 0 })
}
