package upkeep

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"kioskd/cloudlink/contract"
	"kioskd/firmware/config"
	"kioskd/firmware/update"
	"kioskd/kiosk"
	"kioskd/kiosk/journal"
)

// testKiosk is a real journal file and a running controller, with a wall
// clock that stands still.
type testKiosk struct {
	journal    *journal.Journal
	controller *kiosk.Controller
	clock      *kiosk.Clock
	log        *slog.Logger
}

func newTestKiosk(t *testing.T) *testKiosk {
	t.Helper()
	j, err := journal.Open(filepath.Join(t.TempDir(), "journal.db"), journal.Options{KioskID: "sec-kiosk"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	now := time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)
	clock := kiosk.NewClock(func() time.Time { return now }, time.Time{}, func() bool { return false })
	log := slog.New(slog.DiscardHandler)
	ctrl := kiosk.New(kiosk.Rules{CallbackWithin: 5 * time.Minute, CloseWithin: 24 * time.Hour}, "test", j, clock, kiosk.NewState(), log)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ctrl.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return &testKiosk{journal: j, controller: ctrl, clock: clock, log: log}
}

// open registers a real (not test) police call.
func (tk *testKiosk) open(t *testing.T) string {
	t.Helper()
	id, err := tk.controller.Submit(context.Background(), kiosk.Press{Request: kiosk.Police, Source: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// ackAll plays the platform: every waiting event leaves the outbox and its
// incident is marked delivered, as the wiring does on a signed ack.
func (tk *testKiosk) ackAll(t *testing.T) {
	t.Helper()
	evs, err := tk.journal.Pending(0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, ev := range evs {
		ids = append(ids, ev.ID)
	}
	acked, err := tk.journal.Ack(ids)
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range acked {
		if ev.Incident != "" {
			tk.controller.Submit(context.Background(), kiosk.Deliver{Incident: ev.Incident})
		}
	}
}

// newTestUpkeep is an upkeep over tk's real journal and controller,
// trusting one release key, with no indicators and no cameras, launched
// from the packaged slot and online; adjust changes its config before New.
func newTestUpkeep(t *testing.T, tk *testKiosk, releaseKey ed25519.PublicKey, adjust func(*Config)) *Upkeep {
	t.Helper()
	sim := config.Sim(t.TempDir())
	cfg := Config{
		Version: "dev", Slot: update.Packaged, StateDir: sim.Kiosk.StateDir, SelfTest: sim.SelfTest, Update: sim.Update,
		ReleaseKeys: []ed25519.PublicKey{releaseKey}, Reserve: 1 << 20,
		Controller: tk.controller, Clock: tk.clock, Journal: tk.journal, ShowState: func() {},
		AlarmPath: func() error { return nil }, Online: func() bool { return true }, Log: tk.log,
	}
	cfg.Update.QuietAfter = config.Duration{Duration: 10 * time.Minute}
	if adjust != nil {
		adjust(&cfg)
	}
	return New(cfg)
}

// events returns the events of type typ journaled so far, with their data.
func journaled(t *testing.T, tk *testKiosk, typ string) []map[string]any {
	t.Helper()
	evs, err := tk.journal.Events(0, 1000)
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

func TestUpdateCommandRefusals(t *testing.T) {
	tk := newTestKiosk(t)
	pub, priv, _ := ed25519.GenerateKey(nil)
	u := newTestUpkeep(t, tk, pub, func(c *Config) { c.Version = "1.2.0" })
	good := contract.UpdateArgs{URL: "https://releases.example.cn/kioskd", Version: "1.3.0",
		SHA256: strings.Repeat("ab", 32), Size: 1000, Arch: Arch()}
	sign := func(a contract.UpdateArgs) contract.UpdateArgs {
		a.Signature, _ = contract.SignRelease(priv, a.Version, a.SHA256, a.Arch)
		return a
	}
	with := func(f func(*contract.UpdateArgs)) contract.UpdateArgs { a := good; f(&a); return sign(a) }
	tests := []struct {
		name   string
		args   contract.UpdateArgs
		before func()
		want   string
	}{
		{"ftp url", with(func(a *contract.UpdateArgs) { a.URL = "ftp://x/kioskd" }), nil, contract.UpdateBadArgs},
		{"upper-case sha256", with(func(a *contract.UpdateArgs) { a.SHA256 = strings.ToUpper(a.SHA256) }), nil, contract.UpdateBadArgs},
		{"other arch", with(func(a *contract.UpdateArgs) { a.Arch = "mips" }), nil, contract.UpdateWrongArch},
		{"unsigned", good, nil, contract.UpdateBadSignature},
		{"signed for another version", func() contract.UpdateArgs { a := sign(good); a.Version = "1.4.0"; return a }(), nil, contract.UpdateBadSignature},
		{"same version", with(func(a *contract.UpdateArgs) { a.Version = "1.2.0" }), nil, contract.UpdateDowngrade},
		{"older", with(func(a *contract.UpdateArgs) { a.Version = "1.1.9" }), nil, contract.UpdateDowngrade},
		{"not launched", sign(good), func() { u.cfg.Slot = "" }, contract.UpdateNotLaunched},
		{"fresh incident", sign(good), func() { u.cfg.Slot = update.Packaged; tk.open(t) }, contract.UpdateIncident},
	}
	for i, tc := range tests {
		if tc.before != nil {
			tc.before()
		}
		rerr := u.accept(context.Background(), "c-"+tc.name, tc.args)
		if rerr == nil || rerr.Code != contract.ErrRejected || !strings.HasPrefix(rerr.Message, tc.want+":") {
			t.Errorf("%s: reply error %+v, want rejected %s", tc.name, rerr, tc.want)
		}
		got := journaled(t, tk, kiosk.EvUpdateRejected)
		if len(got) != i+1 || got[i]["reason"] != tc.want || got[i]["command"] != "c-"+tc.name {
			t.Errorf("%s: update.rejected events %v, want one more with reason %s", tc.name, got, tc.want)
		}
	}
	// An older version is fine when the platform says so, and a test call
	// is not an incident that holds updates.
	u.cfg.Update.QuietAfter = config.Duration{Duration: time.Nanosecond} // the incident is old now
	tk.controller.Submit(context.Background(), kiosk.Press{Request: kiosk.Police, Source: "self-test", Test: true})
	if rerr := u.accept(context.Background(), "c-ok", with(func(a *contract.UpdateArgs) { a.Version, a.AllowDowngrade = "1.1.0", true })); rerr != nil {
		t.Errorf("allowed downgrade: %+v, want accepted", rerr)
	}
	if rerr := u.accept(context.Background(), "c-busy", sign(good)); rerr == nil || !strings.HasPrefix(rerr.Message, contract.UpdateBusy) {
		t.Errorf("second update while one is under way: %+v, want busy", rerr)
	}
}

// TestScheduledSelfTestRaisesAndClears: the schedule runs self-tests; one
// whose test call nobody acks raises the self_test fault, and one that
// passes (the call acked) clears it. No platform here: the test acks.
func TestScheduledSelfTestRaisesAndClears(t *testing.T) {
	tk := newTestKiosk(t)
	u := newTestUpkeep(t, tk, nil, func(c *Config) {
		c.SelfTest.Every = config.Duration{Duration: 100 * time.Millisecond}
		c.SelfTest.AckWithin = config.Duration{Duration: 300 * time.Millisecond}
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- u.Run(ctx) }()
	defer func() { cancel(); <-done }()

	waitUntil(t, "the self_test fault", func() bool { _, ok := tk.controller.State().Faults[kiosk.FaultSelfTest]; return ok })
	if got := u.LastSelfTest(); got == nil || got.OK || got.Trigger != "schedule" {
		t.Fatalf("lastSelfTest() = %+v, want a failed scheduled one", got)
	}
	acker := time.NewTicker(20 * time.Millisecond)
	defer acker.Stop()
	for !faultCleared(tk) {
		select {
		case <-acker.C:
		case <-time.After(10 * time.Second):
			t.Fatal("the self_test fault was never cleared")
		}
		tk.ackAll(t) // the platform answers now
	}
	if got := journaled(t, tk, kiosk.EvSelfTestPassed); len(got) == 0 {
		t.Error("no self_test.passed journaled")
	}
}

func faultCleared(tk *testKiosk) bool {
	_, raised := tk.controller.State().Faults[kiosk.FaultSelfTest]
	return !raised
}

func waitUntil(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !ok(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("never saw %s", what)
		}
	}
}

// TestTrialEnds: a new version on trial commits when its self-test passes
// (without the platform, when the platform was unreachable at install),
// and rolls itself back when the platform it could reach before does not
// ack its test call in time.
func TestTrialEnds(t *testing.T) {
	tests := []struct {
		name       string
		requireAck bool
		wantErr    error
		wantEvent  string
		wantSlot   string
	}{
		{"offline before: self-test alone", false, nil, kiosk.EvUpdateCommitted, "a"},
		{"online before, no ack", true, ErrRestart, "", update.Packaged},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tk := newTestKiosk(t)
			u := newTestUpkeep(t, tk, nil, func(c *Config) {
				c.Update.TrialDeadline = config.Duration{Duration: 300 * time.Millisecond}
				c.Version, c.Slot = "1.1.0", "a"
			})
			if err := u.slots.Begin(update.Trial{Command: "c1", Version: "1.1.0", FromVersion: "1.0.0",
				Slot: "a", FromSlot: update.Packaged, RequireAck: tc.requireAck}); err != nil {
				t.Fatal(err)
			}
			if err := u.finishTrial(context.Background()); err != tc.wantErr {
				t.Errorf("finishTrial() = %v, want %v", err, tc.wantErr)
			}
			if tc.wantEvent != "" && len(journaled(t, tk, tc.wantEvent)) != 1 {
				t.Errorf("no %s journaled", tc.wantEvent)
			}
			if cur, _ := u.slots.Current(); cur != tc.wantSlot {
				t.Errorf("current slot %q, want %q", cur, tc.wantSlot)
			}
			st, _ := u.slots.Load()
			if st.Trial != nil {
				t.Errorf("trial still under way: %+v", st.Trial)
			}
			if tc.wantErr != nil && (len(st.Reports) != 1 || st.Reports[0].Reason != contract.UpdateSelfTestFailed) {
				t.Errorf("reports %+v, want one self_test_failed for the previous version", st.Reports)
			}
		})
	}
}

// TestUpdateWaitsForQuiet: a verified update waits while an incident is in
// its first minutes, says so once, and installs when the post is quiet.
// The "binary" is a script that answers `version` as kioskd would.
func TestUpdateWaitsForQuiet(t *testing.T) {
	tk := newTestKiosk(t)
	pub, priv, _ := ed25519.GenerateKey(nil)
	u := newTestUpkeep(t, tk, pub, func(c *Config) {
		c.Slot = update.Packaged
		c.Online = func() bool { return false } // nothing to drain to
		c.Version = "1.0.0"
	})
	script := []byte("#!/bin/sh\necho kioskd 1.1.0\n")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(script) }))
	defer srv.Close()
	sum := sha256.Sum256(script)
	a := contract.UpdateArgs{URL: srv.URL + "/kioskd", Version: "1.1.0", SHA256: hex.EncodeToString(sum[:]), Size: int64(len(script)), Arch: Arch()}
	a.Signature, _ = contract.SignRelease(priv, a.Version, a.SHA256, a.Arch)
	if rerr := u.accept(context.Background(), "c1", a); rerr != nil {
		t.Fatalf("accept: %+v", rerr)
	}
	incident := tk.open(t) // a citizen presses while the download runs
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	go func() { defer close(done); u.runUpdate(ctx, <-u.updates) }()
	waitUntil(t, "update.deferred", func() bool { return len(journaled(t, tk, kiosk.EvUpdateDeferred)) == 1 })
	if cur, _ := u.slots.Current(); cur != update.Packaged {
		t.Fatalf("current slot %q while the incident is fresh, want %q", cur, update.Packaged)
	}
	tk.controller.Submit(ctx, kiosk.Close{Incident: incident, By: "王警官", Outcome: "done"})
	<-done
	if got := journaled(t, tk, kiosk.EvUpdateInstalled); len(got) != 1 || got[0]["slot"] != "a" {
		t.Errorf("update.installed events %v, want one into slot a", got)
	}
	select {
	case <-u.restart:
	default:
		t.Error("no restart asked for after the install")
	}
	if cur, _ := u.slots.Current(); cur != "a" {
		t.Errorf("current slot %q, want a", cur)
	}
}

// TestUpdateBadArgs: an update whose args broke a limit is answered
// rejected bad_args, and its update.rejected event carries none of them.
func TestUpdateBadArgs(t *testing.T) {
	tk := newTestKiosk(t)
	u := newTestUpkeep(t, tk, nil, nil)
	rerr := u.UpdateBadArgs(context.Background(), "c-big", errors.New("version: 307200 bytes, over its limit"))
	if rerr == nil || rerr.Code != contract.ErrRejected || !strings.HasPrefix(rerr.Message, contract.UpdateBadArgs+":") {
		t.Errorf("reply error %+v, want rejected bad_args", rerr)
	}
	if got := journaled(t, tk, kiosk.EvUpdateRejected); len(got) != 1 || got[0]["version"] != "" || got[0]["command"] != "c-big" {
		t.Errorf("update.rejected events %v, want one for c-big, without a version", got)
	}
}

// TestSelfTestCommandWaitsInLine: a commanded self-test waits for Run; a
// second one while the first still waits is rejected.
func TestSelfTestCommandWaitsInLine(t *testing.T) {
	u := newTestUpkeep(t, newTestKiosk(t), nil, nil)
	if rerr := u.SelfTestCommand(context.Background(), contract.SelfTestArgs{}); rerr != nil {
		t.Fatalf("first self_test: %+v, want accepted", rerr)
	}
	if rerr := u.SelfTestCommand(context.Background(), contract.SelfTestArgs{}); rerr == nil || rerr.Code != contract.ErrRejected {
		t.Errorf("second self_test while one waits: %+v, want rejected", rerr)
	}
	if trigger := <-u.tests; trigger != "command" {
		t.Errorf("trigger %q, want command", trigger)
	}
}
