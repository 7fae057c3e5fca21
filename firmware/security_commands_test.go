package firmware_test

import (
	"crypto/ed25519"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"kioskd/cloudlink/contract"
	"kioskd/hack/brokertest"
)

// TestSecurityRefusesUnsafeCommands: forged, misaddressed and replayed
// commands (a spent counter also after a kioskd restart) are each refused
// with their error code and a security.command_refused event, and change
// nothing; a command re-sent whole gets its first reply again. (Expiry is enforced only on a synchronised clock, which this
// machine may not have; firmware's TestBridgeRefusesReplayedAndExpired
// covers it with a clock that says it is.)
func TestSecurityRefusesUnsafeCommands(t *testing.T) {
	t.Parallel()
	broker := brokertest.Start(t)
	cfg, httpAddr := simConfig(t, t.TempDir(), broker.URL())
	k := startKiosk(t, cfg, httpAddr)
	plat := newPlatform(t, broker.URL(), true)

	k.press("police")
	s := k.waitState("delivered", func(s kioskState) bool {
		return len(s.Incidents) == 1 && s.Incidents[0].Status == "delivered"
	})
	inc := s.Incidents[0].ID
	accept := contract.AcceptArgs{Incident: inc, Responder: "王警官"}

	_, forgerPriv, _ := ed25519.GenerateKey(nil)
	forged := plat.newCommand(contract.CmdAccept, accept)
	misaddressed := plat.newCommand(contract.CmdAccept, accept)
	misaddressed.Kiosk = "another-kiosk"
	refusals := 0
	refuse := func(what string, key ed25519.PrivateKey, c contract.Command, wantCode string) {
		t.Helper()
		before, n := k.state(), len(plat.repliesTo(c.ID))
		if r := plat.waitReplyN(plat.send(key, c), n+1); r.OK || r.Error == nil || r.Error.Code != wantCode {
			t.Errorf("%s: reply %+v, want %s", what, r, wantCode)
		}
		refusals++
		// At least once: an event unacked at the kill comes again; count each id once.
		refused := func(evs []contract.Event) []contract.Event { return distinct(ofType(evs, "security.command_refused")) }
		evs := plat.waitEvents(what+" refusal event", 10*time.Second, func(evs []contract.Event) bool {
			return len(refused(evs)) >= refusals
		})
		checkRefusal(t, what, refused(evs)[refusals-1], wantCode, c)
		if after := k.state(); !reflect.DeepEqual(after.Incidents, before.Incidents) {
			t.Errorf("%s changed the state:\nbefore %+v\nafter  %+v", what, before.Incidents, after.Incidents)
		}
	}
	refuse("forged", forgerPriv, forged, contract.ErrBadSignature)
	refuse("misaddressed", platformKey, misaddressed, contract.ErrWrongKiosk)

	first := plat.newCommand(contract.CmdMessage, contract.MessageArgs{Incident: inc, From: "城东派出所", Text: "请稍候"})
	if r := plat.waitReply(plat.send(platformKey, first)); !r.OK {
		t.Fatalf("message: reply %+v, want ok", r)
	}
	resend := func(what string) { // the platform lost the reply: the same reply again, nothing applied twice
		t.Helper()
		before, n := k.state(), len(plat.repliesTo(first.ID))
		if r := plat.waitReplyN(plat.send(platformKey, first), n+1); !r.OK {
			t.Errorf("%s: reply %+v, want ok again", what, r)
		}
		if after := k.state(); !reflect.DeepEqual(after.Incidents, before.Incidents) {
			t.Errorf("%s changed the state:\nbefore %+v\nafter  %+v", what, before.Incidents, after.Incidents)
		}
	}
	resend("re-sent")
	reused := first
	reused.ID = "reused-counter"
	refuse("counter reused", platformKey, reused, contract.ErrReplayed)

	k.kill()
	k.start()
	plat.waitEvents("the restart", 10*time.Second, func(evs []contract.Event) bool {
		return len(ofType(evs, "kiosk.started")) == 2
	})
	resend("re-sent after a restart")
	reused.ID = "reused-after-restart"
	refuse("counter reused after a restart", platformKey, reused, contract.ErrReplayed)
	if r := plat.waitReply(plat.command(contract.CmdAccept, accept)); !r.OK {
		t.Fatalf("a fresh command after the refusals: reply %+v, want ok", r)
	}
	k.waitState("accepted", func(s kioskState) bool {
		return len(s.Incidents) == 1 && s.Incidents[0].Status == "accepted"
	})
}

// checkRefusal checks a security.command_refused event against the command.
func checkRefusal(t *testing.T, what string, ev contract.Event, wantCode string, c contract.Command) {
	t.Helper()
	var d struct {
		Code        string `json:"code"`
		Command     string `json:"command"`
		Name        string `json:"name"`
		Counter     uint64 `json:"counter"`
		AddressedTo string `json:"addressed_to"`
	}
	if err := json.Unmarshal(ev.Data, &d); err != nil {
		t.Fatalf("%s: refusal data %s: %v", what, ev.Data, err)
	}
	want := d
	want.Code, want.Command, want.Name, want.Counter, want.AddressedTo = wantCode, c.ID, c.Name, c.Counter, c.Kiosk
	if d != want {
		t.Errorf("%s: refusal event %+v, want %+v", what, d, want)
	}
}

// distinct keeps the first of each event id, in order.
func distinct(evs []contract.Event) []contract.Event {
	seen := map[string]bool{}
	var out []contract.Event
	for _, ev := range evs {
		if !seen[ev.ID] {
			seen[ev.ID] = true
			out = append(out, ev)
		}
	}
	return out
}
