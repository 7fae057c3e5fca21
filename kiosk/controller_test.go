package kiosk

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"kioskd/kiosk/journal"
)

var quiet = slog.New(slog.DiscardHandler)

// runController opens a journal at path and runs a controller on it until
// the test ends or stop is called.
func runController(t *testing.T, path string) (c *Controller, j *journal.Journal, stop func()) {
	t.Helper()
	j, err := journal.Open(path, journal.Options{KioskID: "k1"})
	if err != nil {
		t.Fatal(err)
	}
	s, err := Load(j)
	if err != nil {
		t.Fatal(err)
	}
	c = New(rules, "test", j, NewClock(nil, j.ClockFloor(), nil), s, quiet)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- c.Run(ctx) }()
	stopped := false
	stop = func() {
		if !stopped {
			stopped = true
			cancel()
			<-done
			j.Close()
		}
	}
	t.Cleanup(stop)
	if _, err := c.Submit(ctx, Tick{}); err != nil { // returns once Run has journaled the start
		t.Fatal(err)
	}
	return c, j, stop
}

func TestControllerJournalsBeforeTelling(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal.db")
	c, j, _ := runController(t, path)
	id, err := c.Submit(context.Background(), Press{Request: Police, Source: "test"})
	if err != nil {
		t.Fatal(err)
	}
	events, err := j.IncidentEvents(id)
	if err != nil || len(events) != 1 || events[0].Type != EvRegistered {
		t.Fatalf("journal holds %v (err %v), want one %s", events, err, EvRegistered)
	}
	if got := c.State().Incidents[id]; got == nil || got.Status != Registered {
		t.Errorf("state = %+v, want registered", got)
	}
}

func TestControllerRestoresAfterRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal.db")
	c, _, stop := runController(t, path)
	ctx := context.Background()
	police, _ := c.Submit(ctx, Press{Request: Police})
	lawyer, _ := c.Submit(ctx, Press{Request: Lawyer})
	if _, err := c.Submit(ctx, Close{Incident: lawyer, By: "g", Outcome: "advice"}); err != nil {
		t.Fatal(err)
	}
	before := c.State().Incidents[police]
	stop()

	c2, _, _ := runController(t, path)
	got := c2.State()
	if len(got.Incidents) != 1 {
		t.Fatalf("after restart %d open incidents, want 1 (the closed one stays closed)", len(got.Incidents))
	}
	after := got.Incidents[police]
	if after == nil || !after.CallbackDue.Equal(before.CallbackDue) || !after.CloseDue.Equal(before.CloseDue) {
		t.Errorf("after restart = %+v, want deadlines of %+v", after, before)
	}
	// A repeat press after the restart still joins the open incident.
	if id, _ := c2.Submit(ctx, Press{Request: Police}); id != police {
		t.Errorf("press after restart opened %s, want it to join %s", id, police)
	}
}

func TestControllerRefusesWhenJournalFails(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal.db")
	c, j, _ := runController(t, path)
	j.Close() // the journal is gone: nothing may be claimed
	_, err := c.Submit(context.Background(), Press{Request: Police})
	if !errors.Is(err, journal.ErrClosed) {
		t.Errorf("Submit with a closed journal: err = %v, want ErrClosed", err)
	}
	if n := len(c.State().Incidents); n != 0 {
		t.Errorf("state shows %d incidents that were never journaled", n)
	}
}

func TestControllerStoppedRefuses(t *testing.T) {
	c, _, stop := runController(t, filepath.Join(t.TempDir(), "journal.db"))
	stop()
	if _, err := c.Submit(context.Background(), Press{Request: Police}); !errors.Is(err, ErrStopped) {
		t.Errorf("Submit after Run returned: err = %v, want ErrStopped", err)
	}
}

func TestControllerReconcilesDelivery(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal.db")
	c, j, stop := runController(t, path)
	id, _ := c.Submit(context.Background(), Press{Request: Police})
	events, _ := j.IncidentEvents(id)
	// The platform's ack reached the journal, then the daemon died before
	// marking the incident delivered.
	if _, err := j.Ack([]string{events[0].ID}); err != nil {
		t.Fatal(err)
	}
	stop()
	c2, _, _ := runController(t, path)
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) && !c2.State().Incidents[id].Delivered {
		time.Sleep(10 * time.Millisecond)
	}
	if in := c2.State().Incidents[id]; !in.Delivered || in.Status != Delivered {
		t.Errorf("after restart: delivered %v status %s, want delivered", in.Delivered, in.Status)
	}
}

func TestClockNeverBeforeFloor(t *testing.T) {
	floor := time.Now().Add(time.Hour) // the journal saw a later time than the wall clock says now
	c := NewClock(nil, floor, nil)
	if now := c.Now(); now.Before(floor) {
		t.Errorf("clock %v is before the floor %v", now, floor)
	}
	a := c.Now()
	time.Sleep(5 * time.Millisecond)
	if b := c.Now(); !b.After(a) {
		t.Errorf("clock did not advance: %v then %v", a, b)
	}
}

func TestClockFollowsSyncedWall(t *testing.T) {
	wall := time.Date(1970, 1, 1, 0, 0, 5, 0, time.UTC)
	synced := false
	c := NewClock(func() time.Time { return wall }, time.Time{}, func() bool { return synced })
	if d := c.Drift(); d != 0 || c.Synced() {
		t.Errorf("unsynced: drift %v synced %v, want 0 and false", d, c.Synced())
	}
	wall, synced = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC), true // NTP arrived
	d := c.Drift()
	if d < 24*365*time.Hour || c.Synced() {
		t.Fatalf("after NTP: drift %v synced %v, want decades and false", d, c.Synced())
	}
	c.Step(d)
	if got := c.Now(); got.Sub(wall).Abs() > time.Second || !c.Synced() {
		t.Errorf("after step: now %v synced %v, want about %v and true", got, c.Synced(), wall)
	}
}

// A Deliver that never reached a busy controller (the bridge gave up
// waiting) is mended while it runs, not only at the next start.
func TestControllerReconcilesDeliveryWhileRunning(t *testing.T) {
	j, err := journal.Open(filepath.Join(t.TempDir(), "journal.db"), journal.Options{KioskID: "k1"})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	c := New(rules, "test", j, NewClock(nil, j.ClockFloor(), nil), NewState(), quiet)
	c.reconcileEvery = time.Second
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- c.Run(ctx) }()
	defer func() { cancel(); <-done }()
	id, err := c.Submit(ctx, Press{Request: Police})
	if err != nil {
		t.Fatal(err)
	}
	events, _ := j.IncidentEvents(id)
	if _, err := j.Ack([]string{events[0].ID}); err != nil { // acked; Deliver never submitted
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) && !c.State().Incidents[id].Delivered {
		time.Sleep(20 * time.Millisecond)
	}
	if in := c.State().Incidents[id]; !in.Delivered {
		t.Errorf("incident %s: delivered = false 5 s after its ack, want true", id)
	}
}
