package main

import (
	"context"
	"time"
)

// runKill kills kioskd with SIGKILL at a random moment of a press burst, or
// just after it while the outbox drains, and restarts it on the same state
// directory; one time in five it also kills it again while it starts. Every
// press the kiosk journaled must reach the platform.
//
// A press the sim API took (HTTP 202) is not yet an alarm: the contact is
// down, and the kiosk journals the press after the 30 ms debounce. A kill
// inside that window loses the press the way a power cut in the first 30 ms
// of a real press would; such presses are counted as "in flight at kill",
// not as pressed. A press counts as pressed once it is journaled: shown in
// /api/state before the kill, or found there after the restart.
func runKill(ctx context.Context, e *env, cycles int) *result {
	r := &result{name: "kill", cycles: cycles}
	w, err := newWorld(ctx, e, "kill", worldOpts{})
	if err != nil {
		r.failf("setup: %v", err)
		return r
	}
	defer w.close()
	var t killTally
	last := time.Now()
	for i := 1; i <= cycles && ctx.Err() == nil; i++ {
		if !w.killCycle(ctx, r, &t, i) {
			break
		}
		w.progress(i, cycles, &last)
	}
	r.notef("presses taken by the sim API %d; journaled before the kill was seen %d; in flight at kill %d (killed in the ~35 ms between contact and journal: debounce, then commit)",
		w.accepted, t.late, t.inFlight)
	r.notef("also killed %d times within 40 ms of starting (opening the journal)", t.startKills)
	r.notef("recover = restart of kioskd to connected with every journaled press at the platform (includes kioskd's start)")
	r.finish(ctx, w, false)
	return r
}

type killTally struct {
	inFlight   int // taken by the sim API, never journaled
	late       int // journaled, but the kill came before /api/state showed it
	startKills int
}

// killCycle presses, kills, restarts and waits for delivery; false when the
// kiosk cannot be restarted.
func (w *world) killCycle(ctx context.Context, r *result, t *killTally, i int) bool {
	acc, conf := w.accepted, w.confirmed
	n := 2 + w.e.rng.IntN(9)
	killed := make(chan struct{})
	time.AfterFunc(w.e.jitter(0, time.Duration(n)*50*time.Millisecond), func() {
		w.k.kill()
		close(killed)
	})
	w.burst(ctx, n)
	<-killed
	shown := w.known
	if w.e.rng.IntN(5) == 0 {
		w.killDuringStart()
		t.startKills++
	}
	restart := time.Now()
	if err := w.k.start(); err != nil {
		r.failf("cycle %d: restart: %v", i, err)
		return false
	}
	if err := w.refreshKnown(); err != nil {
		r.failf("cycle %d: state after restart: %v", i, err)
		return false
	}
	if w.known < shown {
		r.failf("cycle %d: the kiosk showed %d presses before the kill and %d after", i, shown, w.known)
	}
	late := max(w.known-shown, 0)
	t.late += late
	t.inFlight += (w.accepted - acc) - (w.confirmed - conf) - late
	if at, ok := w.waitDelivered(ctx, settleWait); ok {
		r.recover = append(r.recover, at.Sub(restart))
	} else {
		r.failf("cycle %d: presses not delivered within %v of the restart", i, settleWait)
	}
	return true
}

// killDuringStart starts kioskd and kills it again within 40 ms, while it
// opens the journal and before it serves.
func (w *world) killDuringStart() {
	if err := w.k.launch(); err != nil {
		return // start reports it
	}
	time.Sleep(w.e.jitter(0, 40*time.Millisecond))
	w.k.kill()
}
