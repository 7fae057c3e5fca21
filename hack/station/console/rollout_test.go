package console

import (
	"crypto/ed25519"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"kioskd/cloudlink/contract"
)

func TestTargetResult(t *testing.T) {
	now := time.Now()
	sentAt := now.Add(-time.Second)
	sent := func(reply *contract.Reply) *Sent { return &Sent{ID: "c1", SentAt: sentAt, Reply: reply} }
	ok := &contract.Reply{OK: true}
	refused := &contract.Reply{Error: &contract.ReplyError{Code: contract.ErrReplayed, Message: "counter"}}
	step := func(typ, reason string) Step { return Step{Type: typ, Reason: reason} }
	tests := []struct {
		name               string
		kind               string
		target             Target
		sent               *Sent
		now                time.Time
		result, reason     string
		settled, succeeded bool
	}{
		{"not sent", contract.CmdUpdate, Target{}, nil, now, "waiting", "", false, false},
		{"offline", contract.CmdUpdate, Target{Skipped: "offline"}, nil, now, "skipped", "offline", true, false},
		{"up to date", contract.CmdUpdate, Target{Skipped: "up_to_date"}, nil, now, "up_to_date", "", true, true},
		{"sending", contract.CmdUpdate, Target{Command: "c1", SentAt: sentAt}, nil, now, "sending", "", false, false},
		{"sent", contract.CmdUpdate, Target{Command: "c1", SentAt: sentAt}, sent(nil), now, "sent", "", false, false},
		{"downloading", contract.CmdUpdate, Target{Command: "c1", SentAt: sentAt, Steps: []Step{step("update.downloading", "")}}, sent(ok), now, "downloading", "", false, false},
		{"committed", contract.CmdUpdate, Target{Command: "c1", SentAt: sentAt, Steps: []Step{step("update.installed", ""), step("update.committed", "")}}, sent(ok), now, "committed", "", true, true},
		{"rolled back", contract.CmdUpdate, Target{Command: "c1", SentAt: sentAt, Steps: []Step{step("update.installed", ""), step("update.rolled_back", "crashed_at_start")}}, sent(ok), now, "rolled_back", "crashed_at_start", true, false},
		{"rejected before the reply", contract.CmdUpdate, Target{Command: "c1", SentAt: sentAt, Steps: []Step{step("update.rejected", "downgrade")}}, sent(nil), now, "rejected", "downgrade", true, false},
		{"refused by the kiosk's security", contract.CmdUpdate, Target{Command: "c1", SentAt: sentAt}, sent(refused), now, contract.ErrReplayed, "", true, false},
		{"no reply", contract.CmdUpdate, Target{Command: "c1", SentAt: sentAt}, sent(nil), now.Add(replyWait + time.Second), "no_reply", "", true, false},
		{"reply lost, events came", contract.CmdUpdate, Target{Command: "c1", SentAt: sentAt, Steps: []Step{step("update.verified", "")}}, sent(nil), now.Add(replyWait + time.Second), "verified", "", false, false},
		{"send failed", contract.CmdSelfTest, Target{Command: "c1", SentAt: sentAt}, &Sent{SendError: "no PUBACK"}, now, "send_failed", "", true, false},
		{"timeout", contract.CmdSelfTest, Target{Command: "c1", SentAt: sentAt}, sent(ok), now.Add(selfTestDeadline), "timeout", "", true, false},
		{"self-test passed", contract.CmdSelfTest, Target{Command: "c1", SentAt: sentAt, Steps: []Step{step("self_test.passed", "")}}, sent(ok), now, "passed", "", true, true},
		{"self-test failed", contract.CmdSelfTest, Target{Command: "c1", SentAt: sentAt, Steps: []Step{step("self_test.failed", "")}}, sent(ok), now, "failed", "", true, false},
	}
	for _, tt := range tests {
		got := tt.target.result(tt.kind, tt.sent, tt.now)
		if got.Result != tt.result || got.Reason != tt.reason || got.Settled != tt.settled || got.OK != tt.succeeded {
			t.Errorf("%s: got %+v; want result %q, reason %q, settled %v, ok %v", tt.name, got, tt.result, tt.reason, tt.settled, tt.succeeded)
		}
	}
}

func TestNewRolloutChecks(t *testing.T) {
	_, key, _ := ed25519.GenerateKey(nil)
	good := signedRelease(t, key, "1.5.0")
	noSig, badSum := good, good
	noSig.Signature = ""
	badSum.SHA256 = "ABC"
	known := []string{"k1", "k2", "k3"}
	tests := []struct {
		name    string
		req     RolloutRequest
		waves   int // 0: refused
		targets int
	}{
		{"self-test on all", RolloutRequest{Kind: contract.CmdSelfTest, All: true}, 1, 3},
		{"update in waves of 2", RolloutRequest{Kind: contract.CmdUpdate, All: true, Release: &good, WaveSize: 2}, 2, 3},
		{"update, a list", RolloutRequest{Kind: contract.CmdUpdate, Kiosks: []string{"k9"}, Release: &good}, 1, 1},
		{"unknown kind", RolloutRequest{Kind: "reboot", All: true}, 0, 0},
		{"no kiosks", RolloutRequest{Kind: contract.CmdSelfTest}, 0, 0},
		{"a kiosk twice", RolloutRequest{Kind: contract.CmdSelfTest, Kiosks: []string{"k1", "k1"}}, 0, 0},
		{"not a kiosk id", RolloutRequest{Kind: contract.CmdSelfTest, Kiosks: []string{"K/1"}}, 0, 0},
		{"update without release", RolloutRequest{Kind: contract.CmdUpdate, All: true}, 0, 0},
		{"release unsigned", RolloutRequest{Kind: contract.CmdUpdate, All: true, Release: &noSig}, 0, 0},
		{"release sha256 not hex", RolloutRequest{Kind: contract.CmdUpdate, All: true, Release: &badSum}, 0, 0},
	}
	for _, tt := range tests {
		r, err := newRollout(tt.req, known, time.Now())
		if (err == nil) != (tt.waves > 0) {
			t.Errorf("%s: error %v, want refused: %v", tt.name, err, tt.waves == 0)
			continue
		}
		if err == nil && (r.Waves() != tt.waves || len(r.Targets) != tt.targets) {
			t.Errorf("%s: %d waves of %d targets, want %d of %d", tt.name, r.Waves(), len(r.Targets), tt.waves, tt.targets)
		}
	}
}

// TestRolloutHaltsAndIsKeptAcrossRestart: with no broker, the first
// wave's command cannot be sent; the rollout halts before the second, is
// found halted by the next console on the same file, and stops.
func TestRolloutHaltsAndIsKeptAcrossRestart(t *testing.T) {
	_, key, _ := ed25519.GenerateKey(nil)
	cfg := Config{Broker: "tcp://127.0.0.1:9", Key: key, DBPath: filepath.Join(t.TempDir(), "station.db"),
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	c, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	v, err := c.StartRollout(RolloutRequest{Kind: contract.CmdSelfTest, Kiosks: []string{"k1", "k2"}, WaveSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	c.driveRollouts() // sends k1's command, which fails at once: not connected
	c.driveRollouts() // the wave is settled with a failure: halt
	got, _ := c.Rollout(v.ID)
	if got.State != RolloutHalted || target(got, "k1").Result != "send_failed" || target(got, "k2").Result != "waiting" {
		t.Fatalf("rollout %s, k1 %s, k2 %s; want halted, send_failed, waiting", got.State, target(got, "k1").Result, target(got, "k2").Result)
	}
	c.Close()

	c, err = Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got, ok := c.Rollout(v.ID); !ok || got.State != RolloutHalted || target(got, "k1").Result != "send_failed" {
		t.Fatalf("after reopening: %v, %+v; want the halted rollout with k1 send_failed", ok, got)
	}
	if _, err := c.ContinueRollout("ro-none"); !errors.Is(err, ErrNoRollout) {
		t.Errorf("continue an unknown rollout: %v, want ErrNoRollout", err)
	}
	if got, err = c.StopRollout(v.ID); err != nil || got.State != RolloutStopped || target(got, "k2").Skipped != "stopped" {
		t.Errorf("stop: %v, %s, k2 skipped %q; want stopped, k2 not sent", err, got.State, target(got, "k2").Skipped)
	}
	if _, err := c.ContinueRollout(v.ID); !errors.Is(err, ErrRolloutState) {
		t.Errorf("continue a stopped rollout: %v, want ErrRolloutState", err)
	}
}
