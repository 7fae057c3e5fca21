package firmware_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"kioskd/cloudlink/contract"
	"kioskd/hack/brokertest"
)

// TestOversizedTextsRefused: against a real mosquitto and a real kioskd, a
// 300 KB responder, a 5,000-character outcome, a message without "from" and
// a 300 KB command id are refused (bad_args, malformed) and change nothing:
// no event carries them, the retained state and /api/state are as before,
// and a valid accept then goes through (the refused ones spent no counter).
func TestOversizedTextsRefused(t *testing.T) {
	t.Parallel()
	broker := brokertest.Start(t)
	cfg, httpAddr := simConfig(t, t.TempDir(), broker.URL())
	k := startKiosk(t, cfg, httpAddr)
	plat := newPlatform(t, broker.URL(), true)
	retained := plat.client.Subscribe(plat.topics.State())

	k.press("police")
	st := k.waitState("one delivered call", func(s kioskState) bool {
		return len(s.Incidents) == 1 && s.Incidents[0].Delivered
	})
	id := st.Incidents[0].ID
	stateBefore := lastState(t, retained, func(s contract.State) bool { return len(s.Incidents) == 1 && s.Incidents[0].Delivered })
	// kiosk.started too: it was sent before the platform subscribed, so it
	// arrives with the kiosk's re-send after the ack timeout, and must be
	// counted before the refusals, not taken for a change they made.
	eventsBefore := len(plat.waitEvents("kiosk.started and incident.delivered", 10*time.Second, func(evs []contract.Event) bool {
		return len(ofType(evs, "kiosk.started")) > 0 && len(ofType(evs, "incident.delivered")) == 1
	}))

	big := strings.Repeat("长", 300<<10/3)
	refused := []struct {
		what, name string
		args       any
		code       string
	}{
		{"a 300 KB responder", contract.CmdAccept, contract.AcceptArgs{Incident: id, Responder: big}, contract.ErrBadArgs},
		{"a 5,000-character outcome", contract.CmdClose, contract.CloseArgs{Incident: id, By: "王警官", Outcome: strings.Repeat("结", 5000)}, contract.ErrBadArgs},
		{"a message without from", contract.CmdMessage, contract.MessageArgs{Incident: id, Text: "民警正在赶来"}, contract.ErrBadArgs},
		{"a 300 KB message", contract.CmdMessage, contract.MessageArgs{Incident: id, From: "站", Text: big}, contract.ErrBadArgs},
		{"an escape in a name", contract.CmdEscalate, contract.EscalateArgs{Incident: id, By: "\x1b[2J", Reason: "r"}, contract.ErrBadArgs},
	}
	for _, r := range refused {
		reply := plat.waitReply(plat.command(r.name, r.args))
		if reply.OK || reply.Error == nil || reply.Error.Code != r.code {
			t.Errorf("%s: reply %+v, want %s", r.what, reply, r.code)
		} else if len(reply.Error.Message) > 300 {
			t.Errorf("%s: the reply repeats the text (%d bytes)", r.what, len(reply.Error.Message))
		}
	}
	c := plat.newCommand(contract.CmdAccept, contract.AcceptArgs{Incident: id, Responder: "王警官"})
	c.ID = strings.Repeat("i", 300<<10)
	plat.send(platformKey, c)

	// A valid accept goes through, and is the only change.
	if reply := plat.waitReply(plat.command(contract.CmdAccept, contract.AcceptArgs{Incident: id, Responder: "王警官"})); !reply.OK {
		t.Fatalf("valid accept after the refusals: %+v", reply)
	}
	evs := plat.waitEvents("the valid accept", 10*time.Second, func(evs []contract.Event) bool {
		return len(ofType(evs, "incident.accepted")) == 1
	})
	for _, ev := range evs[eventsBefore:] {
		switch {
		case ev.Type == "security.command_refused" && len(ev.Data) < 2<<10: // the long id, cut
		case ev.Type == "incident.accepted" && bytes.Contains(ev.Data, []byte(`"responder":"王警官"`)):
		default:
			t.Errorf("after the refusals: event %s of %d bytes, want only the valid accept", ev.Type, len(ev.Data))
		}
	}
	stateAfter := lastState(t, retained, func(s contract.State) bool { return len(s.Incidents) == 1 && s.Incidents[0].Status == "accepted" })
	stateBefore.Incidents[0].Status, stateBefore.Incidents[0].Responder = "accepted", "王警官"
	if got, want := mustJSON(t, stateAfter.Incidents), mustJSON(t, stateBefore.Incidents); got != want {
		t.Errorf("retained state after the refusals and one accept:\n got %s\nwant %s", got, want)
	}
	if s := k.state(); len(s.Incidents) != 1 || s.Incidents[0].Responder != "王警官" || s.Incidents[0].Outcome != "" {
		t.Errorf("/api/state after the refusals: %+v", s.Incidents)
	}
}

// lastState reads retained state messages until one satisfies ok.
func lastState(t *testing.T, ch <-chan brokertest.Message, ok func(contract.State) bool) contract.State {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case m := <-ch:
			var s contract.State
			if err := json.Unmarshal(m.Payload, &s); err != nil {
				t.Fatalf("retained state: %v", err)
			}
			if len(m.Payload) > 64<<10 {
				t.Errorf("retained state of %d bytes", len(m.Payload))
			}
			if ok(s) {
				return s
			}
		case <-deadline:
			t.Fatal("no retained state as wanted within 10 s")
		}
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
