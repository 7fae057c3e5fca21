package firmware

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"log/slog"
	"path/filepath"
	"reflect"
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
	t      *testing.T
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
	tb := &testBridge{t: t, now: time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)}
	clock := kiosk.NewClock(func() time.Time { return tb.now }, time.Time{}, func() bool { return tb.synced })
	log := slog.New(slog.DiscardHandler)
	ctrl := kiosk.New(kiosk.Rules{CallbackWithin: 5 * time.Minute, CloseWithin: 24 * time.Hour}, "test", j, clock, kiosk.NewState(), log)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ctrl.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	tb.bridge, err = newBridge(j, ctrl, clock, nil, nil, commandKeys{keys: []ed25519.PublicKey{testCommandKey.Public().(ed25519.PublicKey)}}, nil, log)
	if err != nil {
		t.Fatal(err)
	}
	return tb
}

// testCommandKey signs the commands the tests hand to a testBridge.
var testCommandKey = ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))

// answer hands cmd to the bridge as the link does, signed, and returns the
// reply's result and error.
func (tb *testBridge) answer(ctx context.Context, cmd contract.Command) (json.RawMessage, *contract.ReplyError) {
	tb.t.Helper()
	payload, err := contract.SignCommand(testCommandKey, cmd)
	if err != nil {
		tb.t.Fatal(err)
	}
	reply := tb.Command(ctx, payload)
	if reply.V != contract.SchemaVersion || reply.Kiosk != "sec-kiosk" || reply.Command != cmd.ID || reply.OK != (reply.Error == nil) {
		tb.t.Fatalf("reply %+v to command %s", reply, cmd.ID)
	}
	return reply.Result, reply.Error
}

// command is answer without the result.
func (tb *testBridge) command(ctx context.Context, cmd contract.Command) *contract.ReplyError {
	tb.t.Helper()
	_, rerr := tb.answer(ctx, cmd)
	return rerr
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

func withID(c contract.Command, id string) contract.Command {
	c.ID = id
	return c
}

// TestBridgeRefusesReplayedAndExpired: the replay window takes a counter
// overtaken by a newer one, refuses a counter spent by another command or
// below the window, and refuses expired commands on a synchronised clock;
// every refusal is journaled and changes nothing.
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
		{"same counter, another command", true, withID(acceptCmd(inc, 10, later), "other"), contract.ErrReplayed},
		{"lower counter, overtaken: in the window", true, acceptCmd(inc, 9, later), ""},
		{"lower counter taken, another command", true, withID(acceptCmd(inc, 9, later), "again"), contract.ErrReplayed},
		{"expired, clock synced", true, acceptCmd(inc, 11, earlier), contract.ErrExpired},
		{"expired, clock not synced: not enforced", false, acceptCmd(inc, 12, earlier), ""},
		{"refused counter was not spent", true, acceptCmd(inc, 11, later), ""},
		{"no expiry", true, acceptCmd(inc, 13, time.Time{}), ""},
		{"below the window", true, acceptCmd(inc, 5, later), contract.ErrReplayed}, // after the fill below
	}
	wantRefusals := 0
	for i, s := range steps {
		if i == len(steps)-1 { // CommandWindow newer commands push 5 to 13 out of the window
			for n := range uint64(journal.CommandWindow) {
				if _, err := tb.journal.AdmitCommand(100+n, "fill"); err != nil {
					t.Fatal(err)
				}
			}
		}
		tb.synced = s.synced
		before := tb.controller.State().Incidents[inc].UpdatedAt
		rerr := tb.command(context.Background(), s.cmd)
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
	if n, _ := tb.journal.CommandCounter(); n != 100+journal.CommandWindow-1 {
		t.Errorf("highest accepted counter = %d, want %d", n, 100+journal.CommandWindow-1)
	}
}

// TestBridgeAnswersResentCommand: a command sent again (its reply was lost)
// gets its first reply again, whether that was ok or a refusal after
// admission, and is not applied twice; a command the kiosk admitted but
// could not answer (it stopped in between) gets duplicate.
func TestBridgeAnswersResentCommand(t *testing.T) {
	tb := newTestBridge(t)
	inc := tb.open(t)
	tb.synced = true // after open: the controller reads the clock as it starts
	later := tb.now.Add(time.Minute)
	ctx := context.Background()
	msg := func(counter uint64, incident string) contract.Command {
		args, _ := json.Marshal(contract.MessageArgs{Incident: incident, From: "城东派出所", Text: "请稍候"})
		return contract.Command{V: 1, ID: fmt.Sprintf("m-%d", counter), Kiosk: "sec-kiosk",
			Name: contract.CmdMessage, Args: args, Counter: counter, Expires: later}
	}
	eventsNow := func() int {
		evs, err := tb.journal.Pending(0, 1000)
		if err != nil {
			t.Fatal(err)
		}
		return len(evs)
	}
	steps := []struct {
		name     string
		cmd      contract.Command
		wantCode string
	}{
		{"applied", msg(20, inc), ""},
		{"refused after admission", msg(21, "inc-none"), contract.ErrNotFound},
	}
	for _, s := range steps {
		_, first := tb.answer(ctx, s.cmd)
		before := eventsNow()
		tb.now = later.Add(time.Second) // expired since: a re-send still gets its reply
		_, again := tb.answer(ctx, s.cmd)
		tb.now = later.Add(-time.Minute)
		if code(first) != s.wantCode || !reflect.DeepEqual(first, again) {
			t.Errorf("%s: first reply %v, again %v; want %q twice", s.name, first, again, s.wantCode)
		}
		if after := eventsNow(); after != before {
			t.Errorf("%s: the re-send journaled %d events, want none", s.name, after-before)
		}
	}
	if _, err := tb.journal.AdmitCommand(22, "m-22"); err != nil { // admitted, then the kiosk stopped
		t.Fatal(err)
	}
	if _, rerr := tb.answer(ctx, msg(22, inc)); code(rerr) != contract.ErrDuplicate {
		t.Errorf("a re-send whose first reply is not known: %v, want %s", rerr, contract.ErrDuplicate)
	}
	if _, rerr := tb.answer(ctx, withID(msg(20, inc), "not-m-20")); code(rerr) != contract.ErrReplayed {
		t.Errorf("another command with a spent counter: %v, want %s", rerr, contract.ErrReplayed)
	}
}

func code(rerr *contract.ReplyError) string {
	if rerr == nil {
		return ""
	}
	return rerr.Code
}
