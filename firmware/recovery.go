package firmware

import (
	"kioskd/cloudlink/contract"
	"kioskd/kiosk"
)

// A journal recovery (kiosk/recovery.go) as the platform and /healthz see
// it: the kiosk works on, degraded, until a person acknowledges it at the
// guard console or by the acknowledge_recovery command.

// status sums the kiosk up, for the heartbeat and /healthz alike: a broken
// alarm path is unhealthy; a working one with a recovery nobody has
// acknowledged is degraded, not unhealthy, because a press is still taken.
func status(alarmPath error, rec *kiosk.Recovery) string {
	switch {
	case alarmPath != nil:
		return contract.StatusUnhealthy
	case rec != nil:
		return contract.StatusDegraded
	}
	return contract.StatusOK
}

// wireRecovery is the waiting recovery as the contract carries it.
func wireRecovery(r *kiosk.Recovery) *contract.JournalRecovery {
	if r == nil {
		return nil
	}
	w := &contract.JournalRecovery{SetAside: r.SetAside, Since: r.Since}
	if s := r.Salvage; s != nil {
		w.Salvage = &contract.Salvage{Events: s.Events, Requeued: s.Requeued, OpenIncidents: s.OpenIncidents,
			SeqFrom: s.SeqFrom, BootEpoch: s.BootEpoch, Reason: s.Reason}
	}
	return w
}
