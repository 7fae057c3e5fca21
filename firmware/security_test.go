package firmware

import (
	"context"
	"encoding/json"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"kioskd/cloudlink/contract"
	"kioskd/kiosk"
	"kioskd/kiosk/journal"
)

// testBridge is a bridge over a real journal file and a running controller,
// with a wall clock the test sets and says is synchronised or not.
type testBridge struct {
	*bridge
	now    time.Time
	synced bool
}

func newTestBridge(t *testing.T) *testBridge {
	t.Helper()
	j, err := journal.Open(filepath.Join(t.TempDir(), "journal.db"), journal.Options{KioskID: "sec-kiosk"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	tb := &testBridge{now: time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)}
	clock := kiosk.NewClock(func() time.Time { return tb.now }, time.Time{}, func() bool { return tb.synced })
	log := slog.New(slog.DiscardHandler)
	ctrl := kiosk.New(kiosk.Rules{CallbackWithin: 5 * time.Minute, CloseWithin: 24 * time.Hour}, "test", j, clock, kiosk.NewState(), log)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ctrl.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	tb.bridge = &bridge{journal: j, controller: ctrl, clock: clock, log: log}
	return tb
}

func (tb *testBridge) open(t *testing.T) string {
	t.Helper()
	id, err := tb.controller.Submit(context.Background(), kiosk.Press{Request: kiosk.Police, Source: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func acceptCmd(incident string, counter uint64, expires time.Time) contract.Command {
	args, _ := json.Marshal(contract.AcceptArgs{Incident: incident, Responder: "王警官"})
	return contract.Command{V: 1, ID: "c-" + time.Duration(counter).String(), Kiosk: "sec-kiosk",
		Name: contract.CmdAccept, Args: args, Counter: counter, Expires: expires}
}

// refusals returns the security.command_refused events journaled so far.
func (tb *testBridge) refusals(t *testing.T) []map[string]any {
	t.Helper()
	evs, err := tb.journal.Pending(0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	for _, ev := range evs {
		if ev.Type == kiosk.EvCommandRefused {
			var d map[string]any
			json.Unmarshal(ev.Data, &d)
			out = append(out, d)
		}
	}
	return out
}

func TestBridgeRefusesReplayedAndExpired(t *testing.T) {
	tb := newTestBridge(t)
	inc := tb.open(t)
	later := tb.now.Add(time.Minute)
	earlier := tb.now.Add(-time.Minute)
	steps := []struct {
		name     string
		synced   bool
		cmd      contract.Command
		wantCode string // "" for applied
	}{
		{"first", true, acceptCmd(inc, 10, later), ""},
		{"same counter again", true, acceptCmd(inc, 10, later), contract.ErrReplayed},
		{"lower counter", true, acceptCmd(inc, 9, later), contract.ErrReplayed},
		{"expired, clock synced", true, acceptCmd(inc, 11, earlier), contract.ErrExpired},
		{"expired, clock not synced: not enforced", false, acceptCmd(inc, 12, earlier), ""},
		{"refused counter was not spent", true, acceptCmd(inc, 11, later), contract.ErrReplayed}, // 12 was accepted
		{"no expiry", true, acceptCmd(inc, 13, time.Time{}), ""},
	}
	wantRefusals := 0
	for _, s := range steps {
		tb.synced = s.synced
		before := tb.controller.State().Incidents[inc].UpdatedAt
		rerr := tb.Command(context.Background(), s.cmd)
		got := ""
		if rerr != nil {
			got = rerr.Code
		}
		if got != s.wantCode {
			t.Fatalf("%s: code %q (%v), want %q", s.name, got, rerr, s.wantCode)
		}
		if s.wantCode == "" {
			continue
		}
		wantRefusals++
		if after := tb.controller.State().Incidents[inc].UpdatedAt; !after.Equal(before) {
			t.Errorf("%s: incident changed by a refused command", s.name)
		}
		refs := tb.refusals(t)
		if len(refs) != wantRefusals {
			t.Fatalf("%s: %d refusal events, want %d", s.name, len(refs), wantRefusals)
		}
		last := refs[len(refs)-1]
		if last["code"] != s.wantCode || last["command"] != s.cmd.ID || last["name"] != contract.CmdAccept ||
			last["counter"] != float64(s.cmd.Counter) || last["addressed_to"] != "sec-kiosk" {
			t.Errorf("%s: refusal event data %v", s.name, last)
		}
	}
	if n, _ := tb.journal.CommandCounter(); n != 13 {
		t.Errorf("last accepted counter = %d, want 13", n)
	}
}

// A flood of refusals journals at most refusalsPerMinute a minute.
func TestRefusalEventsAreBounded(t *testing.T) {
	tb := newTestBridge(t)
	forged := contract.Command{V: 1, ID: "forged", Kiosk: "sec-kiosk", Name: contract.CmdClose, Counter: 1}
	refusal := &contract.ReplyError{Code: contract.ErrBadSignature, Message: "forged"}
	for range refusalsPerMinute + 20 {
		tb.CommandRefused(context.Background(), forged, refusal)
	}
	if got := len(tb.refusals(t)); got != refusalsPerMinute {
		t.Errorf("%d refusal events journaled, want %d", got, refusalsPerMinute)
	}
}

func TestRefusalLimitWindow(t *testing.T) {
	var r refusalLimit
	log := slog.New(slog.DiscardHandler)
	t0 := time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)
	allowed := 0
	for i := range 2 * refusalsPerMinute {
		if r.allow(t0.Add(time.Duration(i)*time.Millisecond), log) {
			allowed++
		}
	}
	if allowed != refusalsPerMinute {
		t.Errorf("allowed %d in one minute, want %d", allowed, refusalsPerMinute)
	}
	if !r.allow(t0.Add(time.Minute), log) {
		t.Error("a refusal a minute later was not allowed")
	}
	if !r.allow(t0.Add(-time.Hour), log) {
		t.Error("a refusal after the clock stepped back was not allowed")
	}
}
