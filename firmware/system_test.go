package firmware_test

import (
	"regexp"
	"testing"
	"time"

	"kioskd/cloudlink/contract"
	"kioskd/hack/brokertest"
)

// These tests run the real kioskd binary with simulated devices against a
// real mosquitto, and play the platform with a plain MQTT client.

func TestSystemPressAckAccept(t *testing.T) {
	t.Parallel()
	broker := brokertest.Start(t)
	cfg, httpAddr := simConfig(t, t.TempDir(), broker.URL())
	kiosk := startKiosk(t, cfg, httpAddr)
	plat := newPlatform(t, broker.URL(), false)

	kiosk.press("police")
	got := plat.waitEvents("incident.registered", 5*time.Second, func(evs []contract.Event) bool {
		return len(ofType(evs, "incident.registered")) > 0
	})
	reg := ofType(got, "incident.registered")[0]
	checkEnvelope(t, reg)
	if s := kiosk.state(); len(s.Incidents) != 1 || s.Incidents[0].Status != "registered" {
		t.Fatalf("before the ack: %+v, want one registered incident", s.Incidents)
	}

	plat.ack(reg.ID)
	kiosk.waitState("delivered", func(s kioskState) bool {
		return len(s.Incidents) == 1 && s.Incidents[0].Status == "delivered"
	})

	// Commands that are wrong change nothing and say why.
	bad := plat.command(contract.CmdAccept, contract.AcceptArgs{Incident: "inc-nope", Responder: "王警官"})
	if r := plat.waitReply(bad); r.OK || r.Error == nil || r.Error.Code != contract.ErrNotFound {
		t.Errorf("accept of an unknown incident: reply %+v, want not_found", r)
	}
	noName := plat.command(contract.CmdAccept, contract.AcceptArgs{Incident: reg.Incident})
	if r := plat.waitReply(noName); r.OK || r.Error == nil || r.Error.Code != contract.ErrBadArgs {
		t.Errorf("accept without a responder: reply %+v, want bad_args", r)
	}

	ok := plat.command(contract.CmdAccept, contract.AcceptArgs{Incident: reg.Incident, Responder: "王警官"})
	if r := plat.waitReply(ok); !r.OK {
		t.Fatalf("accept: reply %+v, want ok", r)
	}
	s := kiosk.waitState("accepted", func(s kioskState) bool {
		return len(s.Incidents) == 1 && s.Incidents[0].Status == "accepted"
	})
	if s.Incidents[0].Responder != "王警官" {
		t.Errorf("responder = %q, want 王警官", s.Incidents[0].Responder)
	}
	plat.waitEvents("incident.accepted", 5*time.Second, func(evs []contract.Event) bool {
		return len(ofType(evs, "incident.accepted")) == 1
	})
}

var eventID = regexp.MustCompile(`^[0-9a-f]{32}$`)

func checkEnvelope(t *testing.T, ev contract.Event) {
	t.Helper()
	switch {
	case ev.V != 1:
		t.Errorf("v = %d, want 1", ev.V)
	case !eventID.MatchString(ev.ID):
		t.Errorf("id = %q, want 32 hex digits", ev.ID)
	case ev.Kiosk != "sim-kiosk":
		t.Errorf("kiosk = %q", ev.Kiosk)
	case ev.BootEpoch == 0 || ev.Seq == 0:
		t.Errorf("boot_epoch = %d, seq = %d, want both > 0", ev.BootEpoch, ev.Seq)
	case ev.Incident == "" || ev.Time.IsZero() || len(ev.Data) == 0:
		t.Errorf("incident %q, time %v, data %s: want all set", ev.Incident, ev.Time, ev.Data)
	}
}

// TestSystemBrokerOutage: broker down, 100 presses, broker back: all 100
// reach the platform, in seq order, none lost. The kiosk reaches the broker
// through a proxy held stalled while the broker restarts, until the platform
// has subscribed: a platform that subscribed after the kiosk's first
// publishes would miss them and get them only as re-sends, after the rest.
func TestSystemBrokerOutage(t *testing.T) {
	t.Parallel()
	broker := brokertest.Start(t)
	proxy := brokertest.StartProxy(t, broker.Addr())
	cfg, httpAddr := simConfig(t, t.TempDir(), proxy.URL())
	kiosk := startKiosk(t, cfg, httpAddr)
	broker.Stop()

	buttons := []string{"police", "community", "lawyer", "market", "labour"}
	for i := range 100 {
		kiosk.press(buttons[i%len(buttons)])
		// A button pressed again while still held is one press: give each
		// button 100 ms between presses (40 ms down, then released).
		time.Sleep(20 * time.Millisecond)
	}
	kiosk.waitState("holding all presses", func(s kioskState) bool { return totalPresses(s) == 100 })

	proxy.Stall()
	broker.Restart()
	plat := newPlatform(t, broker.URL(), true)
	proxy.Resume()
	got := plat.waitEvents("all 100 presses", 60*time.Second, func(evs []contract.Event) bool {
		return len(pressEvents(evs)) == 100
	})
	checkSeqOrder(t, got)
}

// pressEvents returns the distinct press events (registered or joined).
func pressEvents(evs []contract.Event) map[string]bool {
	seen := map[string]bool{}
	for _, ev := range evs {
		if ev.Type == "incident.registered" || ev.Type == "incident.pressed_again" {
			seen[ev.ID] = true
		}
	}
	return seen
}

func totalPresses(s kioskState) int {
	n := 0
	for _, in := range s.Incidents {
		n += in.Presses
	}
	return n
}

// checkSeqOrder checks that alarms first arrive in seq order, that the other
// events do too (alarms may overtake them: GUARANTEES.md), and that the seqs
// seen have no gap.
func checkSeqOrder(t *testing.T, evs []contract.Event) {
	t.Helper()
	seen := map[uint64]bool{}
	last := map[bool]uint64{} // by "is an alarm"
	var high uint64
	for _, ev := range evs {
		if seen[ev.Seq] {
			continue // a re-send: the platform dedupes by id
		}
		alarm := ev.Type == "incident.registered" || ev.Type == "incident.pressed_again" || ev.Type == "incident.urgent"
		if ev.Seq < last[alarm] {
			t.Errorf("seq %d (%s) arrived after %d", ev.Seq, ev.Type, last[alarm])
		}
		seen[ev.Seq], last[alarm], high = true, ev.Seq, max(high, ev.Seq)
	}
	for s := uint64(1); s <= high; s++ {
		if !seen[s] {
			t.Errorf("seq %d never arrived", s)
		}
	}
}

// TestSystemKillAndRestart: kioskd killed with SIGKILL and restarted keeps its
// open incidents and deadlines, and sends nothing again that was acked.
func TestSystemKillAndRestart(t *testing.T) {
	t.Parallel()
	broker := brokertest.Start(t)
	cfg, httpAddr := simConfig(t, t.TempDir(), broker.URL())
	kiosk := startKiosk(t, cfg, httpAddr)
	plat := newPlatform(t, broker.URL(), false)

	kiosk.press("police")
	reg := plat.waitEvents("police registered", 5*time.Second, func(evs []contract.Event) bool {
		return len(ofType(evs, "incident.registered")) == 1
	})
	acked := map[string]bool{}
	for _, ev := range reg {
		plat.ack(ev.ID)
		acked[ev.ID] = true
	}
	kiosk.waitState("delivered", func(s kioskState) bool { return len(s.Incidents) == 1 && s.Incidents[0].Delivered })
	// The delivered event itself must be acked too before the kill, or it is
	// rightly sent again.
	all := plat.waitEvents("incident.delivered", 5*time.Second, func(evs []contract.Event) bool {
		return len(ofType(evs, "incident.delivered")) == 1
	})
	for _, ev := range all {
		if !acked[ev.ID] {
			plat.ack(ev.ID)
			acked[ev.ID] = true
		}
	}
	kiosk.press("lawyer") // registered, never acked
	before := kiosk.waitState("two incidents", func(s kioskState) bool { return len(s.Incidents) == 2 })
	time.Sleep(300 * time.Millisecond) // let the acks land in the journal

	kiosk.kill()
	arrivedBefore := len(plat.received())
	kiosk.start()

	after := kiosk.waitState("both incidents back", func(s kioskState) bool { return len(s.Incidents) == 2 })
	for i := range before.Incidents {
		b, a := before.Incidents[i], after.Incidents[i]
		if a.ID != b.ID || !a.CallbackDue.Equal(b.CallbackDue) || !a.CloseDue.Equal(b.CloseDue) {
			t.Errorf("incident %d after restart = %+v, want %+v", i, a, b)
		}
	}
	// The unacked lawyer call is sent again; nothing acked comes back.
	plat.waitEvents("the lawyer call again", 10*time.Second, func(evs []contract.Event) bool {
		n := 0
		for _, ev := range ofType(evs, "incident.registered") {
			if ev.Data != nil && contains(ev.Data, "lawyer") {
				n++
			}
		}
		return n >= 2
	})
	time.Sleep(500 * time.Millisecond)
	for _, ev := range plat.received()[arrivedBefore:] {
		if acked[ev.ID] {
			t.Errorf("event %s (%s, seq %d) sent again after it was acked", ev.ID, ev.Type, ev.Seq)
		}
	}
}

func contains(b []byte, s string) bool { return regexp.MustCompile(regexp.QuoteMeta(s)).Match(b) }
