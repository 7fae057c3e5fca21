package firmware

import (
	"context"
	"slices"
	"time"

	"kioskd/cloudlink/contract"
	"kioskd/kiosk"
)

// Heartbeat gathers the kiosk's vital signs for the platform.
func (b *bridge) Heartbeat() contract.Heartbeat {
	st := b.controller.State()
	hb := contract.Heartbeat{
		V: contract.SchemaVersion, Kiosk: b.journal.KioskID(), BootEpoch: b.journal.BootEpoch(),
		Time: b.clock.Now(), ClockSynced: b.clock.Synced(), Version: Version,
		UptimeSeconds: int64(time.Since(b.started).Seconds()), AlarmPathHealthy: true,
		OpenIncidents: len(st.Incidents), Faults: []string{}, Cameras: b.cameras.Statuses(),
		LastSelfTest: b.upkeep.LastSelfTest(),
	}
	err := b.alarmPath()
	if err != nil {
		hb.AlarmPathHealthy, hb.AlarmPathProblem = false, err.Error()
	}
	hb.Status, hb.JournalRecovery = status(err, st.Recovery), wireRecovery(st.Recovery)
	for key := range st.Faults {
		hb.Faults = append(hb.Faults, key)
	}
	slices.Sort(hb.Faults)
	stats, err := b.journal.Stats()
	if err != nil {
		b.log.Error("heartbeat: journal stats", "err", err)
		return hb
	}
	hb.OutboxDepth = stats.PendingCritical + stats.PendingTelemetry
	hb.OutboxOldest = stats.OldestPending
	hb.TelemetryDropped = stats.TelemetryDropped
	hb.DiskFreeBytes, hb.JournalBytes, hb.JournalMaxBytes = stats.DiskFreeBytes, stats.FileBytes, stats.MaxBytes
	return hb
}

// faultReserve is raised while the journal takes alarms from its reserve.
const faultReserve = "journal_reserve"

// watchSpace raises a visible fault while the journal is short of space, and
// clears it when space is back. Raising it is itself journaled, from the reserve.
func (d *Daemon) watchSpace(ctx context.Context, b *bridge) {
	for {
		stats, err := b.journal.Stats()
		_, raised := b.controller.State().Faults[faultReserve]
		if err == nil && stats.OnReserve != raised {
			var in kiosk.Input = kiosk.ClearFault{Key: faultReserve}
			if stats.OnReserve {
				in = kiosk.RaiseFault{Key: faultReserve, Detail: "disk or journal.max_size reached: telemetry refused, alarms taken from the reserve"}
			}
			if _, err := b.controller.Submit(ctx, in); err != nil && ctx.Err() == nil {
				d.log.Error("space fault not journaled", "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(5 * time.Second):
		}
	}
}
