package main

import (
	"context"
	"log/slog"
	"time"

	"kioskd/cloudlink/contract"
	"kioskd/firmware/outbox"
	"kioskd/kiosk"
	"kioskd/kiosk/journal"
)

// linkKiosk is the link's Kiosk for a simulated kiosk. Its outbox and state
// are kioskd's own (firmware/outbox); it takes no platform commands (the
// fleet sends none), has no cameras, and its heartbeat carries the outbox and
// incident counts only.
type linkKiosk struct {
	*outbox.Outbox // State
	journal        *journal.Journal
	controller     *kiosk.Controller
	clock          *kiosk.Clock
	started        time.Time
	log            *slog.Logger
}

// Command refuses every command: the fleet simulator takes none.
func (k *linkKiosk) Command(_ context.Context, payload []byte) contract.Reply {
	cmd, _ := contract.DecodeUnsignedCommand(payload) // its claimed id, for the reply only
	return contract.Reply{V: contract.SchemaVersion, Command: cmd.ID, Kiosk: k.journal.KioskID(),
		Error: &contract.ReplyError{Code: contract.ErrRejected, Message: "the fleet simulator takes no commands"}}
}

// Cameras is the empty report of a kiosk without cameras.
func (k *linkKiosk) Cameras() contract.CameraReport {
	return contract.CameraReport{V: contract.SchemaVersion, Kiosk: k.journal.KioskID(), BootEpoch: k.journal.BootEpoch(),
		Cameras: []contract.CameraStatus{}}
}

// AckRefused logs a refused ack; the fleet's consumer signs every ack, so
// any refusal is a fault of the simulation.
func (k *linkKiosk) AckRefused(_ context.Context, ack contract.Ack, aerr *contract.AckError) {
	k.log.Warn("ack refused", "code", aerr.Code, "reason", aerr.Message, "ids", len(ack.IDs))
}

func (k *linkKiosk) Heartbeat() contract.Heartbeat {
	hb := contract.Heartbeat{
		Time: k.clock.Now(), ClockSynced: k.clock.Synced(), AlarmPathHealthy: true,
		UptimeSeconds: int64(time.Since(k.started).Seconds()),
		OpenIncidents: len(k.controller.State().Incidents), Faults: []string{}, Cameras: []contract.CameraStatus{},
	}
	if stats, err := k.journal.Stats(); err == nil {
		hb.OutboxDepth = stats.PendingCritical + stats.PendingTelemetry
		hb.OutboxOldest = stats.OldestPending
		hb.DiskFreeBytes, hb.JournalBytes = stats.DiskFreeBytes, stats.FileBytes
	}
	return hb
}
