package commands

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"reflect"
	"testing"
	"time"

	"kioskd/cloudlink/contract"
)

// command is an accept signed with testKey, with args valid or not.
func command(id string, counter uint64, kiosk, name string, validArgs bool, expires time.Time) string {
	args := json.RawMessage(`{"incident":"inc-1","responder":"王警官"}`)
	if !validArgs {
		args = json.RawMessage(`{"incident":"inc-1"}`)
	}
	c := contract.Command{V: 1, ID: id, Kiosk: kiosk, Name: name, Args: args, Counter: counter, Expires: expires}
	b, _ := json.Marshal(c)
	return seal(string(b))
}

// TestAdmissionOrder: a command that fails several checks is refused for
// the first of them, in this order: signature, kiosk, name, replay window,
// expiry, argument limits. A refusal before admission spends no counter;
// bad args come after admission, so their counter is spent and their reply
// kept, as cloudlink/contract/doc.md says.
func TestAdmissionOrder(t *testing.T) {
	r := newRig(t, nil)
	now := time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)
	later, earlier := now.Add(time.Minute), now.Add(-time.Minute)
	r.setClock(now, true)
	forged := string(sealRaw(otherKey, []byte(`{"v":1,"id":"f1","kiosk":"kiosk-other","name":"reboot","counter":1}`)))
	steps := []struct {
		name     string
		payload  string
		wantCode string
		calls    int // handler calls so far
	}{
		{"forged, another kiosk's, unknown", forged, contract.ErrBadSignature, 0},
		{"another kiosk's, unknown name", command("k1", 1, "kiosk-other", "reboot", false, earlier), contract.ErrWrongKiosk, 0},
		{"unknown name, expired, bad args", command("u1", 1, testKiosk, "reboot", false, earlier), contract.ErrUnknownCommand, 0},
		{"first", command("a1", 10, testKiosk, contract.CmdAccept, true, later), "", 1},
		{"sent again after it expired: its first reply", command("a1", 10, testKiosk, contract.CmdAccept, true, later), "", 1},
		{"spent counter, expired, bad args", command("a2", 10, testKiosk, contract.CmdAccept, false, earlier), contract.ErrExpired, 1},
		{"spent counter, bad args", command("a2", 10, testKiosk, contract.CmdAccept, false, later), contract.ErrReplayed, 1},
		{"expired, bad args", command("a3", 11, testKiosk, contract.CmdAccept, false, earlier), contract.ErrExpired, 1},
		{"bad args: admitted, the counter spent", command("a3", 11, testKiosk, contract.CmdAccept, false, later), contract.ErrBadArgs, 1},
		{"the same bad command again: its first reply", command("a3", 11, testKiosk, contract.CmdAccept, false, later), contract.ErrBadArgs, 1},
		{"good args on the spent counter", command("a4", 11, testKiosk, contract.CmdAccept, true, later), contract.ErrReplayed, 1},
		{"an older counter, overtaken: still fresh", command("a5", 9, testKiosk, contract.CmdAccept, true, later), "", 2},
	}
	var first contract.Reply
	for i, s := range steps {
		if s.name == "sent again after it expired: its first reply" {
			r.setClock(later.Add(time.Second), true)
		}
		reply, code := r.answer(s.payload)
		r.setClock(now, true)
		if code != s.wantCode {
			t.Errorf("%s: code %q (%v), want %q", s.name, code, reply.Error, s.wantCode)
		}
		if n := len(r.commands()); n != s.calls {
			t.Errorf("%s: %d handler calls, want %d", s.name, n, s.calls)
		}
		switch i {
		case 8:
			first = reply
		case 9:
			if !reflect.DeepEqual(reply, first) {
				t.Errorf("%s: reply %+v, want the first %+v", s.name, reply, first)
			}
		}
	}
	// Journaled: the forgery, the wrong kiosk, two expired, one replayed.
	want := []string{"bad_signature f1", "wrong_kiosk k1", "expired a2", "replayed a2", "expired a3", "replayed a4"}
	if got := r.refusals(t); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("refusals journaled %q, want %q", got, want)
	}
}

// A flood of refusals journals at most RefusalsPerMinute a minute.
func TestRefusalEventsAreBounded(t *testing.T) {
	r := newRig(t, nil)
	forged := contract.Command{V: 1, ID: "forged", Kiosk: testKiosk, Name: contract.CmdClose, Counter: 1}
	refusal := &contract.ReplyError{Code: contract.ErrBadSignature, Message: "forged"}
	for range RefusalsPerMinute + 20 {
		r.d.refuse(context.Background(), forged, refusal)
	}
	if got := len(r.refusals(t)); got != RefusalsPerMinute {
		t.Errorf("%d refusal events journaled, want %d", got, RefusalsPerMinute)
	}
}

func TestRefusalLimitWindow(t *testing.T) {
	var r RefusalLimit
	log := slog.New(slog.DiscardHandler)
	t0 := time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)
	allowed := 0
	for i := range 2 * RefusalsPerMinute {
		if r.Allow(t0.Add(time.Duration(i)*time.Millisecond), log) {
			allowed++
		}
	}
	if allowed != RefusalsPerMinute {
		t.Errorf("allowed %d in one minute, want %d", allowed, RefusalsPerMinute)
	}
	if !r.Allow(t0.Add(time.Minute), log) {
		t.Error("a refusal a minute later was not allowed")
	}
	if !r.Allow(t0.Add(-time.Hour), log) {
		t.Error("a refusal after the clock stepped back was not allowed")
	}
}
