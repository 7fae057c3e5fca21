package update

import (
	"fmt"
	"time"
)

// Choose is the launcher's decision before a start (see the package doc):
// it returns the slot to run, Packaged for the launcher's own binary, and
// saves what it counted or changed. packagedVersion is the launcher's
// version. A note, if not empty, says what it changed, for the log.
func (s Slots) Choose(packagedVersion string) (slot, note string, err error) {
	st, err := s.Load()
	if err != nil {
		return "", "", err
	}
	cur, err := s.Current()
	if err != nil {
		return "", "", err
	}
	if cur != Packaged && st.PackagedVersion != packagedVersion {
		if err := s.Switch(Packaged); err != nil {
			return "", "", err
		}
		note = fmt.Sprintf("the package was upgraded (%s → %s): running it instead of slot %s", st.PackagedVersion, packagedVersion, cur)
		if t := st.Trial; t != nil {
			st.Reports = append(st.Reports, Report{Command: t.Command, Version: t.Version, RunningVersion: packagedVersion,
				Reason: ReasonPackageUpgraded, Detail: note})
		}
		cur, st.Trial = Packaged, nil
	}
	st.PackagedVersion = packagedVersion
	if t := st.Trial; t != nil {
		cur, note, err = s.countStart(&st, cur)
		if err != nil {
			return "", "", err
		}
	}
	return cur, note, s.Save(st)
}

// countStart counts a start of a trial's new version, or ends the trial:
// rolled back after too many starts, or found interrupted between the
// install and the switch. It returns the slot to run.
func (s Slots) countStart(st *State, cur string) (slot, note string, err error) {
	t := st.Trial
	if cur != t.Slot {
		note = fmt.Sprintf("update to %s was interrupted before it switched slots; %s stays", t.Version, t.FromVersion)
		st.Reports = append(st.Reports, Report{Command: t.Command, Version: t.Version, RunningVersion: t.FromVersion,
			Reason: ReasonInterrupted, Detail: note})
		st.Trial = nil
		return cur, note, nil
	}
	t.Starts++
	if t.Starts <= MaxTrialStarts {
		return cur, "", nil
	}
	if err := s.Switch(t.FromSlot); err != nil {
		return "", "", err
	}
	note = fmt.Sprintf("version %s started %d times without passing its trial (it crashed, hung or looped at start); back to %s",
		t.Version, MaxTrialStarts, t.FromVersion)
	st.Reports = append(st.Reports, Report{Command: t.Command, Version: t.Version, RunningVersion: t.FromVersion,
		Reason: ReasonCrashedAtStart, Detail: note})
	st.Trial = nil
	return t.FromSlot, note, nil
}

// NotRunnable rolls back a trial whose binary the launcher could not even
// execute, and returns the slot to run instead.
func (s Slots) NotRunnable(slot string, execErr error) (string, error) {
	st, err := s.Load()
	if err != nil {
		return "", err
	}
	back := Packaged
	rep := Report{Reason: ReasonNotRunnable, Detail: fmt.Sprintf("slot %s could not be started: %v", slot, execErr)}
	if t := st.Trial; t != nil && t.Slot == slot {
		back = t.FromSlot
		rep.Command, rep.Version, rep.RunningVersion = t.Command, t.Version, t.FromVersion
		st.Trial = nil
	}
	if err := s.Switch(back); err != nil {
		return "", err
	}
	st.Reports = append(st.Reports, rep)
	return back, s.Save(st)
}

// Begin records a trial of the binary installed in t.Slot and then
// switches `current` to it. In this order a power cut in between leaves a
// trial whose slot is not current, which the launcher reports as
// interrupted.
func (s Slots) Begin(t Trial) error {
	st, err := s.Load()
	if err != nil {
		return err
	}
	t.Starts, t.Installed = 0, time.Now().UTC()
	st.Trial = &t
	if err := s.Save(st); err != nil {
		return err
	}
	return s.Switch(t.Slot)
}

// Trial returns the trial under way whose new version is running in slot
// as version, or nil.
func (s Slots) Trial(slot, version string) (*Trial, error) {
	st, err := s.Load()
	if err != nil || st.Trial == nil || st.Trial.Slot != slot || st.Trial.Version != version {
		return nil, err
	}
	return st.Trial, nil
}

// Commit ends the trial: the new version stays.
func (s Slots) Commit() error {
	st, err := s.Load()
	if err != nil {
		return err
	}
	st.Trial = nil
	return s.Save(st)
}

// RollBack ends the trial in failure: `current` goes back to the previous
// binary first, then the report is saved for it to journal. A power cut
// in between leaves a trial whose slot is not current: reported as
// interrupted, and still rolled back.
func (s Slots) RollBack(reason, detail string) error {
	st, err := s.Load()
	if err != nil {
		return err
	}
	t := st.Trial
	if t == nil {
		return fmt.Errorf("update: roll back: no trial under way")
	}
	if err := s.Switch(t.FromSlot); err != nil {
		return err
	}
	st.Reports = append(st.Reports, Report{Command: t.Command, Version: t.Version, RunningVersion: t.FromVersion,
		Reason: reason, Detail: detail})
	st.Trial = nil
	return s.Save(st)
}

// Reports returns the reports waiting to be journaled. Journal them, then
// DropReports: a crash in between journals one twice, never none.
func (s Slots) Reports() ([]Report, error) {
	st, err := s.Load()
	return st.Reports, err
}

// DropReports removes the first n reports, once they are journaled.
func (s Slots) DropReports(n int) error {
	st, err := s.Load()
	if err != nil {
		return err
	}
	st.Reports = st.Reports[min(n, len(st.Reports)):]
	return s.Save(st)
}
