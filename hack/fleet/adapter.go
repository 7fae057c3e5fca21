package main

import (
	"context"
	"log/slog"
	"time"

	"kioskd/cloudlink/contract"
	"kioskd/firmware"
	"kioskd/kiosk"
	"kioskd/kiosk/journal"
)

// linkAdapter is the link's Outbox and Kiosk, as firmware's (unexported)
// bridge is: its journal-to-wire translation (firmware.WireEvents), the same
// ack-then-deliver. It takes no platform commands (the fleet sends
// none) and its heartbeat carries the outbox and incident counts only.
type linkAdapter struct {
	journal    *journal.Journal
	controller *kiosk.Controller
	clock      *kiosk.Clock
	started    time.Time
	log        *slog.Logger
}

func (a *linkAdapter) Pending(afterSeq uint64, limit int) ([]contract.Event, error) {
	return firmware.WireEvents(a.journal.Pending(afterSeq, limit))
}

func (a *linkAdapter) Urgent(limit int) ([]contract.Event, error) {
	return firmware.WireEvents(a.journal.Urgent(limit))
}

// Ack removes the events from the outbox, then marks their incidents delivered.
func (a *linkAdapter) Ack(ids []string) error {
	acked, err := a.journal.Ack(ids)
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, ev := range acked {
		if ev.Incident == "" || seen[ev.Incident] {
			continue
		}
		seen[ev.Incident] = true
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err := a.controller.Submit(ctx, kiosk.Deliver{Incident: ev.Incident})
		cancel()
		if err != nil {
			a.log.Error("mark delivered", "incident", ev.Incident, "err", err)
		}
	}
	return nil
}

func (a *linkAdapter) Command(context.Context, contract.Command) *contract.ReplyError {
	return &contract.ReplyError{Code: contract.ErrRejected, Message: "the fleet simulator takes no commands"}
}

// AckRefused logs a refused ack; the fleet's consumer signs every ack, so
// any refusal is a fault of the simulation.
func (a *linkAdapter) AckRefused(_ context.Context, ack contract.Ack, aerr *contract.AckError) {
	a.log.Warn("ack refused", "code", aerr.Code, "reason", aerr.Message, "ids", len(ack.IDs))
}

func (a *linkAdapter) State() contract.State {
	st := contract.State{
		V: contract.SchemaVersion, Kiosk: a.journal.KioskID(), BootEpoch: a.journal.BootEpoch(),
		Time: time.Now().UTC(), Incidents: []contract.Incident{},
	}
	for _, in := range a.controller.State().Sorted() {
		st.Incidents = append(st.Incidents, contract.Incident{
			ID: in.ID, Request: string(in.Request), Status: string(in.Status), Source: in.Source,
			Urgency: in.Urgency, Delivered: in.Delivered, Presses: in.Presses,
			RegisteredAt: in.RegisteredAt, CallbackDue: in.CallbackDue, CloseDue: in.CloseDue,
		})
	}
	return st
}

func (a *linkAdapter) Heartbeat() contract.Heartbeat {
	hb := contract.Heartbeat{
		Time: a.clock.Now(), ClockSynced: a.clock.Synced(), AlarmPathHealthy: true,
		UptimeSeconds: int64(time.Since(a.started).Seconds()),
		OpenIncidents: len(a.controller.State().Incidents), Faults: []string{}, Cameras: []contract.CameraStatus{},
	}
	if stats, err := a.journal.Stats(); err == nil {
		hb.OutboxDepth = stats.PendingCritical + stats.PendingTelemetry
		hb.OutboxOldest = stats.OldestPending
		hb.DiskFreeBytes, hb.JournalBytes = stats.DiskFreeBytes, stats.FileBytes
	}
	return hb
}
