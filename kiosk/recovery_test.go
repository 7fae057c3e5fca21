package kiosk

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"kioskd/kiosk/journal"
)

func TestStepJournalRecovery(t *testing.T) {
	s, fx, err := rules.Step(NewState(), Boot{Version: "v", Recovered: "/x.broken"}, t0)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := types(fx), []string{EvKioskStarted, EvJournalRecovered, EvFaultRaised}; !slices.Equal(got, want) {
		t.Errorf("boot after set-aside: events %v, want %v", got, want)
	}
	if !s.Degraded() || s.Recovery.SetAside != "/x.broken" || !s.Recovery.Since.Equal(t0) {
		t.Fatalf("after boot: recovery %+v, want waiting for /x.broken since %v", s.Recovery, t0)
	}
	if fx.Recovery == nil || !fx.Recovery.AcknowledgedAt.IsZero() {
		t.Errorf("boot effects carry recovery %+v, want the waiting condition to journal", fx.Recovery)
	}

	tests := []struct {
		name    string
		in      AcknowledgeRecovery
		wantErr error
	}{
		{"nobody", AcknowledgeRecovery{By: " "}, ErrBadInput},
		{"name too long", AcknowledgeRecovery{By: strings.Repeat("名", NameLimit.Runes+1)}, ErrBadInput},
		{"note too long", AcknowledgeRecovery{By: "g", Note: strings.Repeat("x", NoteLimit.Bytes+1)}, ErrBadInput},
		{"not utf-8", AcknowledgeRecovery{By: "g\xff"}, ErrBadInput},
	}
	for _, tt := range tests {
		got, fx, err := rules.Step(s, tt.in, t0)
		if !errors.Is(err, tt.wantErr) || !fx.Empty() || !got.Degraded() {
			t.Errorf("%s: err %v, effects %v, degraded %v; want %v, none, still degraded", tt.name, err, types(fx), got.Degraded(), tt.wantErr)
		}
	}

	at := t0.Add(time.Hour)
	s, fx, err = rules.Step(s, AcknowledgeRecovery{By: "guard1", Note: "  looked at it "}, at)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := types(fx), []string{EvRecoveryAcknowledged, EvFaultCleared}; !slices.Equal(got, want) {
		t.Errorf("acknowledge: events %v, want %v", got, want)
	}
	r := fx.Recovery
	if s.Degraded() || r == nil || r.AcknowledgedBy != "guard1" || !r.AcknowledgedAt.Equal(at) || r.Note != "looked at it" {
		t.Errorf("after acknowledge: degraded %v, journaled %+v; want cleared, by guard1 at %v", s.Degraded(), r, at)
	}
	if _, ok := s.Faults[faultJournalAside]; ok {
		t.Errorf("fault %s still raised after the acknowledgement", faultJournalAside)
	}

	_, fx, err = rules.Step(s, AcknowledgeRecovery{By: "guard1"}, at)
	if !errors.Is(err, ErrRejected) || !fx.Empty() {
		t.Errorf("acknowledge with nothing to acknowledge: err %v, effects %v; want ErrRejected, none", err, types(fx))
	}
}

// The degraded state is journaled: it survives restarts until someone
// acknowledges it, and the acknowledgement survives them too. The journal is
// garbage, or a real one cut to half its size.
func TestControllerRecoverySurvivesRestart(t *testing.T) {
	garbage := func(t *testing.T, path string) {
		if err := os.WriteFile(path, []byte(strings.Repeat("not a journal ", 5000)), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	truncated := func(t *testing.T, path string) {
		c, _, stop := runController(t, path)
		for range 50 {
			if _, err := c.Submit(context.Background(), Press{Request: Police}); err != nil {
				t.Fatal(err)
			}
		}
		stop()
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(path, fi.Size()/2); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("garbage", func(t *testing.T) { checkRecoverySurvives(t, garbage) })
	t.Run("truncated", func(t *testing.T) { checkRecoverySurvives(t, truncated) })
}

func checkRecoverySurvives(t *testing.T, damage func(t *testing.T, path string)) {
	path := filepath.Join(t.TempDir(), "journal.db")
	damage(t, path)
	c, j, stop := runController(t, path)
	aside := j.Recovered()
	if aside == "" {
		t.Fatal("a garbage journal.db was not set aside")
	}
	if r := c.State().Recovery; r == nil || r.SetAside != aside {
		t.Fatalf("first start: recovery %+v, want waiting for %s", r, aside)
	}
	stop()

	c, j, stop = runController(t, path)
	if j.Recovered() != "" {
		t.Fatalf("second start set %s aside too", j.Recovered())
	}
	st := c.State()
	if r := st.Recovery; r == nil || r.SetAside != aside {
		t.Fatalf("after restart: recovery %+v, want still waiting for %s", r, aside)
	}
	if _, ok := st.Faults[faultJournalAside]; !ok {
		t.Errorf("after restart: faults %v, want %s", st.Faults, faultJournalAside)
	}
	if _, err := c.Submit(context.Background(), AcknowledgeRecovery{By: "guard1", Note: "checked"}); err != nil {
		t.Fatal(err)
	}
	checkAcknowledged(t, j, aside)
	stop()

	c, _, _ = runController(t, path)
	if st := c.State(); st.Degraded() || len(st.Faults) != 0 {
		t.Errorf("after acknowledge and restart: recovery %+v faults %v, want none", st.Recovery, st.Faults)
	}
	if _, err := c.Submit(context.Background(), AcknowledgeRecovery{By: "guard1"}); !errors.Is(err, ErrRejected) {
		t.Errorf("second acknowledgement: err %v, want ErrRejected", err)
	}
}

// checkAcknowledged finds the acknowledgement event and the closed
// condition snapshot in the journal.
func checkAcknowledged(t *testing.T, j *journal.Journal, aside string) {
	t.Helper()
	events, err := j.Events(0, 100)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(events, func(e journal.Event) bool { return e.Type == EvRecoveryAcknowledged })
	if i < 0 || !strings.Contains(string(events[i].Data), `"by":"guard1"`) || !strings.Contains(string(events[i].Data), aside) {
		t.Errorf("journal holds no %s by guard1 naming %s: %v", EvRecoveryAcknowledged, aside, events)
	}
	snap, ok, err := j.Incident(RecoverySnapshotID)
	if err != nil || !ok || snap.Open || !strings.Contains(string(snap.Data), `"acknowledged_by":"guard1"`) {
		t.Errorf("condition snapshot %+v ok %v err %v, want closed and acknowledged by guard1", snap, ok, err)
	}
}
