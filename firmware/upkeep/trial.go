package upkeep

import (
	"context"

	"kioskd/cloudlink/contract"
	"kioskd/kiosk"
	"kioskd/kiosk/journal"
)

// reportEnds journals how earlier updates ended without being able to say
// so themselves: rolled back by the launcher or by the new version before
// it handed back. This runs in whatever version runs afterwards.
func (u *Upkeep) reportEnds(ctx context.Context) {
	reps, err := u.slots.Reports()
	if err != nil {
		u.cfg.Log.Error("update reports unreadable", "err", err)
		return
	}
	for _, r := range reps {
		u.cfg.Log.Warn("update rolled back", "version", r.Version, "running", u.cfg.Version, "reason", r.Reason, "detail", r.Detail)
		u.news(ctx, kiosk.EvUpdateRolledBack, map[string]any{"command": r.Command, "version": r.Version,
			"running_version": u.cfg.Version, "reason": r.Reason, "detail": r.Detail})
	}
	if len(reps) > 0 {
		if err := u.slots.DropReports(len(reps)); err != nil {
			u.cfg.Log.Error("update reports not cleared; they will be journaled again", "err", err)
		}
	}
}

// finishTrial ends the trial of this version, if it is on one: a self-test
// within update.trial_deadline, with the platform's ack of the test call
// unless the platform was unreachable before the update. A pass commits;
// a failure switches back and returns ErrRestart.
func (u *Upkeep) finishTrial(ctx context.Context) error {
	t, err := u.slots.Trial(u.cfg.Slot, u.cfg.Version)
	if err != nil {
		u.cfg.Log.Error("update trial unreadable", "err", err)
		return nil
	}
	if t == nil {
		return nil
	}
	format, _ := u.cfg.Journal.FileFormat()
	u.cfg.Log.Info("on trial after an update", "version", u.cfg.Version, "from", t.FromVersion, "start", t.Starts,
		"journal_format", journal.FormatVersion, "journal_file_format", format)
	u.tester.onlyCameras = t.CamerasOnline
	res := u.selfTest(ctx, "update_trial", t.RequireAck, u.cfg.Update.TrialDeadline.Duration)
	u.tester.onlyCameras = nil
	if ctx.Err() != nil {
		return nil // stopped: the next start counts as another try
	}
	if res.OK {
		if err := u.slots.Commit(); err != nil {
			u.cfg.Log.Error("update passed its trial but cannot be committed; it will be tried again", "err", err)
			return nil
		}
		u.news(ctx, kiosk.EvUpdateCommitted, map[string]any{"command": t.Command, "version": u.cfg.Version,
			"from_version": t.FromVersion, "self_test": res})
		return nil
	}
	u.cfg.Log.Error("update failed its trial; rolling back", "version", u.cfg.Version, "to", t.FromVersion, "note", res.Note)
	if err := u.slots.RollBack(contract.UpdateSelfTestFailed, res.Note); err != nil {
		u.cfg.Log.Error("update roll back failed; the launcher will roll back after its start limit", "err", err)
	}
	return ErrRestart
}
