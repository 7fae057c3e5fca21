package firmware_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"kioskd/cloudlink/contract"
	"kioskd/hack/brokertest"
)

// TestCommandsBackToBack: a station operator who accepts and messages at
// once, and two platform services whose commands cross on the way. Pairs of
// commands are published back to back without waiting for replies, half of
// them in counter order and half overtaken (the higher counter first), to a
// real kioskd through a real mosquitto. Every command must be answered ok
// and applied exactly once.
func TestCommandsBackToBack(t *testing.T) {
	t.Parallel()
	const pairs = 40
	broker := brokertest.Start(t)
	cfg, httpAddr := simConfig(t, t.TempDir(), broker.URL())
	k := startKiosk(t, cfg, httpAddr)
	plat := newPlatform(t, broker.URL(), true)
	k.press("police")
	s := k.waitState("delivered", func(s kioskState) bool {
		return len(s.Incidents) == 1 && s.Incidents[0].Status == "delivered"
	})
	inc := s.Incidents[0].ID

	deadline := time.Now().Add(60 * time.Second)
	var sent []string
	for i := range pairs {
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d pairs within 60s", i, pairs)
		}
		a := plat.newCommand(contract.CmdMessage, contract.MessageArgs{Incident: inc, From: "城东派出所", Text: fmt.Sprintf("pair %d, first", i)})
		b := plat.newCommand(contract.CmdMessage, contract.MessageArgs{Incident: inc, From: "城东派出所", Text: fmt.Sprintf("pair %d, second", i)})
		if i%2 == 1 { // overtaken: the higher counter arrives first
			a, b = b, a
		}
		plat.send(platformKey, a)
		plat.send(platformKey, b)
		for _, c := range []contract.Command{a, b} {
			if r := plat.waitReply(c.ID); !r.OK {
				t.Errorf("pair %d: command %s (counter %d) answered %+v, want ok", i, c.ID, c.Counter, r.Error)
			}
		}
		sent = append(sent, a.ID, b.ID)
	}
	evs := plat.waitEvents("every message", 20*time.Second, func(evs []contract.Event) bool {
		return len(distinct(ofType(evs, "incident.message"))) >= len(sent)
	})
	texts := map[string]int{}
	for _, ev := range distinct(ofType(evs, "incident.message")) {
		var d struct {
			Text string `json:"text"`
		}
		_ = json.Unmarshal(ev.Data, &d)
		texts[d.Text]++
	}
	for i := range pairs {
		for _, which := range []string{"first", "second"} {
			if n := texts[fmt.Sprintf("pair %d, %s", i, which)]; n != 1 {
				t.Errorf("pair %d, %s: applied %d times, want once", i, which, n)
			}
		}
	}
	for _, id := range sent {
		if n := len(plat.repliesTo(id)); n != 1 {
			t.Errorf("command %s: %d replies, want 1", id, n)
		}
	}
}
