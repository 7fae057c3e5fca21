package firmware

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"strings"
	"testing"

	"kioskd/cloudlink/contract"
	"kioskd/firmware/config"
	"kioskd/firmware/update"
	"kioskd/firmware/upkeep"
)

// withUpkeep gives tb's bridge an upkeep over its journal and controller,
// trusting one release key, as if launched from the packaged slot.
func withUpkeep(t *testing.T, tb *testBridge, releaseKey ed25519.PublicKey) {
	t.Helper()
	cfg := config.Sim(t.TempDir())
	tb.upkeep = upkeep.New(upkeep.Config{
		Version: Version, Slot: update.Packaged, StateDir: cfg.Kiosk.StateDir, SelfTest: cfg.SelfTest, Update: cfg.Update,
		ReleaseKeys: []ed25519.PublicKey{releaseKey}, Reserve: 1 << 20,
		Controller: tb.controller, Clock: tb.clock, Journal: tb.journal, ShowState: func() {},
		AlarmPath: func() error { return nil }, Online: func() bool { return true }, Log: tb.log,
	})
}

// journaled returns the events of type typ journaled so far, with their data.
func journaled(t *testing.T, tb *testBridge, typ string) []map[string]any {
	t.Helper()
	evs, err := tb.journal.Events(0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	for _, ev := range evs {
		if ev.Type == typ {
			var d map[string]any
			json.Unmarshal(ev.Data, &d)
			out = append(out, d)
		}
	}
	return out
}

// TestCommandArgsOverLimitsJournalNothingOfThem: an update whose version is
// 300 KB is rejected as bad_args and its update.rejected event carries none
// of it; a self_test or an accept with a 300 KB text is bad_args and
// journals nothing at all.
func TestCommandArgsOverLimitsJournalNothingOfThem(t *testing.T) {
	tb := newTestBridge(t)
	pub, _, _ := ed25519.GenerateKey(nil)
	withUpkeep(t, tb, pub)
	big := strings.Repeat("版", 300<<10/3)
	command := func(counter uint64, name string, args any) contract.Command {
		raw, _ := json.Marshal(args)
		return contract.Command{V: 1, ID: "c-" + name, Kiosk: "sec-kiosk", Name: name, Args: raw, Counter: counter}
	}

	upd := contract.UpdateArgs{URL: "https://x/kioskd", Version: big, SHA256: strings.Repeat("ab", 32), Size: 1, Arch: upkeep.Arch(), Signature: "c2ln"}
	rerr := tb.command(context.Background(), command(1, contract.CmdUpdate, upd))
	if rerr == nil || rerr.Code != contract.ErrRejected || !strings.HasPrefix(rerr.Message, contract.UpdateBadArgs+":") {
		t.Errorf("update with a 300 KB version: %+v, want rejected bad_args", rerr)
	}
	if got := journaled(t, tb, "update.rejected"); len(got) != 1 || got[0]["version"] != "" {
		t.Errorf("update.rejected events: %d, version %.40v; want one, without the version", len(got), got)
	}
	for _, c := range []contract.Command{
		command(2, contract.CmdSelfTest, contract.SelfTestArgs{Reason: big}),
		command(3, contract.CmdAccept, contract.AcceptArgs{Incident: "inc-1", Responder: big}),
		command(4, contract.CmdMessage, contract.MessageArgs{Incident: "inc-1", Text: "无署名"}),
	} {
		if rerr := tb.command(context.Background(), c); rerr == nil || rerr.Code != contract.ErrBadArgs || len(rerr.Message) > 300 {
			t.Errorf("%s: %+v, want a short bad_args", c.Name, rerr)
		}
	}
	after, _ := tb.journal.Events(0, 1000)
	var types []string
	for _, ev := range after {
		if ev.Type != "kiosk.started" { // the controller's own, at its start
			types = append(types, ev.Type)
		}
	}
	if strings.Join(types, " ") != "update.rejected" {
		t.Errorf("journaled %v, want only the update.rejected", types)
	}
	for _, ev := range after {
		if len(ev.Data) > 4<<10 {
			t.Errorf("event %s of %d bytes", ev.Type, len(ev.Data))
		}
	}
}
