package main

import (
	"context"
	"crypto/ed25519"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"kioskd/kiosk"
)

// TestDrainedWaitsForDelivered walks a kiosk through the two steps in which
// the outbox takes an ack (firmware/outbox, AckEvents): the acked events
// leave the journal, then the controller marks the incident delivered and
// journals incident.delivered. Between the two the outbox is empty and
// nothing is in flight, yet the kiosk still has an event to send: it must
// not count as drained, or a run that ends there finds incident.delivered
// in its outbox a moment later ("1 outboxes not empty at the end").
func TestDrainedWaitsForDelivered(t *testing.T) {
	pub, _, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	set := kioskSettings{Broker: "tcp://127.0.0.1:1", Heartbeat: time.Second, AckTimeout: time.Second, AckKey: pub}
	k, err := openKiosk(filepath.Join(t.TempDir(), "k"), "fleet-00000", set, newLedger(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer k.journal.Close()
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() { defer close(stopped); _ = k.ctrl.Run(ctx) }() // the controller only: the link stays idle
	defer func() { cancel(); <-stopped }()
	<-k.ctrl.Booted()
	if err := k.press(ctx, time.Now()); err != nil {
		t.Fatal(err)
	}

	incident := ackAll(t, k) // the outbox's first step: the platform's ack recorded
	if incident == "" {
		t.Fatal("the press journaled no incident event")
	}
	if k.drained() {
		t.Fatal("drained after the ack left the journal, before the incident was marked delivered")
	}
	// The outbox's second step: incident.delivered is journaled, to be shipped.
	if _, err := k.ctrl.Submit(ctx, kiosk.Deliver{Incident: incident}); err != nil {
		t.Fatal(err)
	}
	if k.drained() {
		t.Fatal("drained with incident.delivered in the outbox")
	}
	ackAll(t, k)
	if !k.drained() {
		t.Fatalf("not drained once incident.delivered was acked: %s", k.describe())
	}
}

// ackAll removes every pending event from k's journal, as the outbox does
// for a platform ack, and returns the incident of the last one.
func ackAll(t *testing.T, k *simKiosk) (incident string) {
	t.Helper()
	evs, err := k.journal.Pending(0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, ev := range evs {
		ids = append(ids, ev.ID)
		if ev.Incident != "" {
			incident = ev.Incident
		}
	}
	if _, err := k.journal.Ack(ids); err != nil {
		t.Fatal(err)
	}
	return incident
}
