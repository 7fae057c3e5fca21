package main

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"kioskd/cloudlink/contract"
	"kioskd/firmware/testhooks"
)

// wallOffsetEnv is kioskd's test hook: a duration added to the wall clock it
// reads. An offset clock is never reported as synchronised.
const wallOffsetEnv = testhooks.WallOffsetEnv

// clockPhases are the wall clocks of one cycle: 1970, the true time, two days
// ahead, then a day behind, which is earlier than what the kiosk has already
// stamped.
var clockPhases = []string{"-493000h", "0s", "48h", "-24h"}

// runClock restarts kioskd on one journal with the wall clock at each of
// clockPhases in turn and presses in each. Before pressing it closes the
// open incidents (after checking they survived the restart unchanged), so
// every phase registers incidents of its own. At the end it checks that the
// kiosk's time never went back (by seq), and that seq and ids held.
func runClock(ctx context.Context, e *env, cycles int) *result {
	r := &result{name: "clock", cycles: cycles}
	start := time.Now()
	w, err := newWorld(ctx, e, "clock", worldOpts{env: []string{wallOffsetEnv + "=" + clockPhases[0]}})
	if err != nil {
		r.failf("setup: %v", err)
		return r
	}
	defer w.close()
	var lastSeqs []uint64 // the platform's max seq after each phase
	var before []incident
	last := time.Now()
	for i := 1; i <= cycles && ctx.Err() == nil; i++ {
		for p, offset := range clockPhases {
			if i > 1 || p > 0 {
				restart := time.Now()
				if err := w.restartWithOffset(offset, p%2 == 0); err != nil {
					r.failf("cycle %d, offset %s: %v", i, offset, err)
					return r
				}
				if at, ok := w.waitDelivered(ctx, settleWait); ok {
					r.recover = append(r.recover, at.Sub(restart))
				}
			}
			if err := w.clockPhase(ctx, r, before, fmt.Sprintf("cycle %d, offset %s", i, offset)); err != nil {
				r.failf("%v", err)
				return r
			}
			s, _ := w.k.state()
			before = s.Incidents
			lastSeqs = append(lastSeqs, w.plat.counts().maxSeq)
		}
		w.progress(i, cycles, &last)
	}
	r.notef("kioskd stopped with SIGTERM and SIGKILL in turn; recover = restart to connected with every press delivered")
	r.finish(ctx, w, false)
	checkEventTimes(r, w.plat.events(), lastSeqs, start)
	return r
}

// restartWithOffset stops kioskd (SIGTERM, or SIGKILL when kill) and starts
// it again with the wall clock at offset.
func (w *world) restartWithOffset(offset string, kill bool) error {
	if kill {
		w.k.kill()
	} else {
		w.k.stop()
	}
	w.k.env = []string{wallOffsetEnv + "=" + offset}
	if err := w.k.start(); err != nil {
		return err
	}
	return w.refreshKnown()
}

// clockPhase checks that the incidents open before the restart are unchanged,
// closes them, presses, waits for delivery, and checks the new deadlines.
func (w *world) clockPhase(ctx context.Context, r *result, before []incident, phase string) error {
	s, err := w.k.state()
	if err != nil {
		return fmt.Errorf("%s: %w", phase, err)
	}
	checkSurvived(r, phase, before, s.Incidents)
	if err := w.closeAll(s); err != nil {
		return fmt.Errorf("%s: %w", phase, err)
	}
	if n := w.burst(ctx, 3+w.e.rng.IntN(5)); n > 0 {
		r.failf("%s: %d presses never showed in /api/state", phase, n)
	}
	if !w.settle(ctx, false) {
		return fmt.Errorf("%s: outbox not drained within %v", phase, settleWait)
	}
	if s, err = w.k.state(); err != nil {
		return fmt.Errorf("%s: %w", phase, err)
	}
	for _, in := range s.Incidents {
		if !in.CallbackDue.After(in.RegisteredAt) || !in.CloseDue.After(in.CallbackDue) {
			r.failf("%s: incident %s registered %v, callback due %v, close due %v",
				phase, in.ID, in.RegisteredAt, in.CallbackDue, in.CloseDue)
		}
	}
	return nil
}

// checkSurvived checks each incident open before a restart is open after it
// with the same registration time and deadlines.
func checkSurvived(r *result, phase string, before, after []incident) {
	for _, b := range before {
		i := slices.IndexFunc(after, func(a incident) bool { return a.ID == b.ID })
		if i < 0 {
			r.failf("%s: incident %s gone after the restart", phase, b.ID)
			continue
		}
		a := after[i]
		if !a.RegisteredAt.Equal(b.RegisteredAt) || !a.CallbackDue.Equal(b.CallbackDue) || !a.CloseDue.Equal(b.CloseDue) {
			r.failf("%s: incident %s changed across the restart: %+v, was %+v", phase, b.ID, a, b)
		}
	}
}

// closeAll closes every open incident with a platform command and waits
// until /api/state has none, so the next presses register new incidents.
func (w *world) closeAll(s stateView) error {
	for _, in := range s.Incidents {
		args := contract.CloseArgs{Incident: in.ID, By: "faults", Outcome: "closed by the fault harness"}
		if err := w.plat.command(contract.CmdClose, args); err != nil {
			return err
		}
	}
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if now, err := w.k.state(); err == nil && len(now.Incidents) == 0 {
			w.closed += s.presses()
			return nil
		}
	}
	return fmt.Errorf("incidents not closed within 10s")
}

// checkEventTimes checks the kiosk's time by seq: never backwards, 1970 at
// the first boot, two days ahead in the +48h phase, never "synced".
func checkEventTimes(r *result, evs []contract.Event, phaseEnds []uint64, start time.Time) {
	slices.SortFunc(evs, func(a, b contract.Event) int { return cmp.Compare(a.Seq, b.Seq) })
	synced := 0
	for i, ev := range evs {
		if ev.ClockSynced {
			synced++
		}
		if i > 0 && ev.Time.Before(evs[i-1].Time) {
			r.failf("seq %d stamped %v, before seq %d at %v: the kiosk went back in time",
				ev.Seq, ev.Time, evs[i-1].Seq, evs[i-1].Time)
		}
	}
	if synced > 0 {
		r.failf("%d events claim clock_synced with the wall clock offset", synced)
	}
	if len(evs) == 0 || len(phaseEnds) < 3 {
		return
	}
	if y := evs[0].Time.Year(); y > 1971 {
		r.failf("first event stamped %v with %s=%s: the offset was not honoured", evs[0].Time, wallOffsetEnv, clockPhases[0])
	}
	i := slices.IndexFunc(evs, func(ev contract.Event) bool { return ev.Seq == phaseEnds[2] })
	if i < 0 {
		r.failf("no event with seq %d, the last of the +48h phase", phaseEnds[2])
		return
	}
	if ahead := evs[i].Time; ahead.Before(start.Add(47 * time.Hour)) {
		r.failf("last event of the +48h phase stamped %v: the jump forward was not honoured", ahead)
	}
	r.notef("stamps: first event %s; last of the +48h phase %s; last %s; by seq never backwards",
		evs[0].Time.Format(time.RFC3339), evs[i].Time.Format(time.RFC3339), evs[len(evs)-1].Time.Format(time.RFC3339))
}
