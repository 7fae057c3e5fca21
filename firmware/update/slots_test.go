package update

import (
	"os"
	"path/filepath"
	"testing"

	"kioskd/cloudlink/contract"
)

func newSlots(t *testing.T) Slots {
	t.Helper()
	return Slots{Dir: filepath.Join(t.TempDir(), "slots")}
}

// install puts a fake binary into slot and begins its trial from cur.
func beginTrial(t *testing.T, s Slots, cur, slot string) {
	t.Helper()
	src := filepath.Join(t.TempDir(), "kioskd")
	if err := os.WriteFile(src, []byte("#!/bin/sh\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := s.Install(src, slot); err != nil {
		t.Fatal(err)
	}
	if err := s.Begin(Trial{Command: "c1", Version: "1.1.0", FromVersion: "1.0.0", Slot: slot, FromSlot: cur}); err != nil {
		t.Fatal(err)
	}
}

func choose(t *testing.T, s Slots, packaged string) string {
	t.Helper()
	slot, _, err := s.Choose(packaged)
	if err != nil {
		t.Fatalf("Choose: %v", err)
	}
	return slot
}

func TestChooseCountsTrialStartsThenRollsBack(t *testing.T) {
	s := newSlots(t)
	if got := choose(t, s, "1.0.0"); got != Packaged {
		t.Fatalf("fresh Choose = %q, want %q", got, Packaged)
	}
	beginTrial(t, s, Packaged, "a")
	for i := 1; i <= MaxTrialStarts; i++ {
		if got := choose(t, s, "1.0.0"); got != "a" {
			t.Fatalf("start %d: Choose = %q, want a", i, got)
		}
	}
	if got := choose(t, s, "1.0.0"); got != Packaged {
		t.Fatalf("start %d: Choose = %q, want %q (rolled back)", MaxTrialStarts+1, got, Packaged)
	}
	st, _ := s.Load()
	if st.Trial != nil || len(st.Reports) != 1 || st.Reports[0].Reason != contract.UpdateCrashedAtStart {
		t.Errorf("state after the rollback = %+v, want no trial and one crashed_at_start report", st)
	}
	if cur, _ := s.Current(); cur != Packaged {
		t.Errorf("Current() = %q, want %q", cur, Packaged)
	}
}

func TestCommitKeepsTheNewSlot(t *testing.T) {
	s := newSlots(t)
	choose(t, s, "1.0.0")
	beginTrial(t, s, Packaged, "a")
	choose(t, s, "1.0.0")
	if err := s.Commit(); err != nil {
		t.Fatal(err)
	}
	for range MaxTrialStarts + 2 {
		if got := choose(t, s, "1.0.0"); got != "a" {
			t.Fatalf("Choose after commit = %q, want a", got)
		}
	}
	// The next update goes to the other slot and rolls back to this one.
	beginTrial(t, s, "a", Other("a"))
	choose(t, s, "1.0.0")
	if err := s.RollBack(contract.UpdateSelfTestFailed, "test_call: no ack"); err != nil {
		t.Fatal(err)
	}
	if got := choose(t, s, "1.0.0"); got != "a" {
		t.Errorf("Choose after a rollback = %q, want a", got)
	}
	reps, _ := s.Reports()
	if len(reps) != 1 || reps[0].Reason != contract.UpdateSelfTestFailed || reps[0].RunningVersion != "1.0.0" {
		t.Errorf("Reports() = %+v, want one self_test_failed", reps)
	}
	if err := s.DropReports(len(reps)); err != nil {
		t.Fatal(err)
	}
	if reps, _ := s.Reports(); len(reps) != 0 {
		t.Errorf("Reports() after DropReports = %+v", reps)
	}
}

func TestChoosePackageUpgradeWins(t *testing.T) {
	s := newSlots(t)
	choose(t, s, "1.0.0")
	beginTrial(t, s, Packaged, "a")
	choose(t, s, "1.0.0")
	s.Commit()
	if got := choose(t, s, "2.0.0"); got != Packaged {
		t.Errorf("Choose after a package upgrade = %q, want %q", got, Packaged)
	}
	if cur, _ := s.Current(); cur != Packaged {
		t.Errorf("Current() = %q, want %q", cur, Packaged)
	}
}

// TestChooseInterruptedInstall: a power cut after the trial was recorded
// and before `current` was switched.
func TestChooseInterruptedInstall(t *testing.T) {
	s := newSlots(t)
	choose(t, s, "1.0.0")
	beginTrial(t, s, Packaged, "a")
	if err := s.Switch(Packaged); err != nil { // as if the switch never happened
		t.Fatal(err)
	}
	if got := choose(t, s, "1.0.0"); got != Packaged {
		t.Errorf("Choose = %q, want %q", got, Packaged)
	}
	reps, _ := s.Reports()
	if len(reps) != 1 || reps[0].Reason != contract.UpdateInterrupted {
		t.Errorf("Reports() = %+v, want one install_interrupted", reps)
	}
}

func TestNotRunnableRollsBack(t *testing.T) {
	s := newSlots(t)
	choose(t, s, "1.0.0")
	beginTrial(t, s, Packaged, "b")
	choose(t, s, "1.0.0")
	back, err := s.NotRunnable("b", os.ErrPermission)
	if err != nil || back != Packaged {
		t.Fatalf("NotRunnable = %q, %v, want %q", back, err, Packaged)
	}
	if cur, _ := s.Current(); cur != Packaged {
		t.Errorf("Current() = %q, want %q", cur, Packaged)
	}
}

func TestCompareVersions(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"1.2.3", "1.2.3", 0},
		{"1.10.0", "1.9.9", 1},
		{"v2.0.0", "1.99.99", 1},
		{"1.0.0-rc1", "1.0.0", -1},
		{"1.0.0-rc2", "1.0.0-rc1", 1},
		{"0.9.0", "1.0.0", -1},
	}
	for _, tc := range tests {
		if got, err := CompareVersions(tc.a, tc.b); got != tc.want || err != nil {
			t.Errorf("CompareVersions(%q, %q) = %d, %v, want %d", tc.a, tc.b, got, err, tc.want)
		}
	}
	for _, bad := range []string{"dev", "1.2", "1.x.3", ""} {
		if _, err := CompareVersions(bad, "1.0.0"); err == nil {
			t.Errorf("CompareVersions(%q) = nil error, want one", bad)
		}
	}
}

// TestReasonsAreTheContracts: the launcher's reasons are journaled as they
// are, so they must be the contract's words.
func TestReasonsAreTheContracts(t *testing.T) {
	for mine, wire := range map[string]string{
		ReasonNotRunnable:     contract.UpdateNotRunnable,
		ReasonCrashedAtStart:  contract.UpdateCrashedAtStart,
		ReasonInterrupted:     contract.UpdateInterrupted,
		ReasonPackageUpgraded: contract.UpdatePackageUpgraded,
	} {
		if mine != wire {
			t.Errorf("update says %q, the contract %q", mine, wire)
		}
	}
}
