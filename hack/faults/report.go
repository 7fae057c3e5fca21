package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"time"
)

// result is one scenario's figures.
type result struct {
	name       string
	cycles     int
	pressed    int // presses the kiosk journaled (its /api/state at the end)
	confirmed  int // presses the harness saw in /api/state right after pressing
	delivered  int // distinct press events at the platform
	duplicates int // arrivals beyond the first of an id, any event type
	gaps       int // seqs never seen at the platform
	recover    []time.Duration
	notes      []string
	failures   []string
}

func (r *result) lost() int { return max(r.pressed, r.confirmed) - r.delivered }

func (r *result) notef(format string, args ...any) {
	r.notes = append(r.notes, fmt.Sprintf(format, args...))
}

func (r *result) failf(format string, args ...any) {
	r.failures = append(r.failures, fmt.Sprintf(format, args...))
}

// finish waits for the outbox to drain, then counts.
func (r *result) finish(ctx context.Context, w *world, allowGaps bool) {
	if !w.k.alive() {
		if err := w.k.start(); err != nil {
			r.failf("restart kioskd to count: %v", err)
		}
	}
	if !w.settle(ctx, allowGaps) {
		r.failf("outbox not drained within %v", settleWait)
	}
	s, err := w.k.state()
	if err != nil {
		r.failf("final /api/state: %v", err)
	}
	c := w.plat.counts()
	r.pressed, r.confirmed, r.delivered = w.journaled(s), w.confirmed, c.presses
	r.duplicates, r.gaps = c.arrivals-c.distinct, c.gaps
	if err == nil && r.confirmed > r.pressed {
		r.failf("the kiosk showed %d presses but holds only %d", r.confirmed, r.pressed)
	}
	if r.delivered > r.pressed {
		r.failf("the platform has %d press events for %d journaled presses", r.delivered, r.pressed)
	}
	if r.gaps > 0 && !allowGaps {
		r.failf("%d seqs below %d never reached the platform", r.gaps, c.maxSeq)
	}
	for _, p := range c.problems {
		r.failf("platform: %s", p)
	}
	for _, crash := range w.k.takeCrashes() {
		r.failf("%s", crash)
	}
	if r.lost() > 0 {
		r.failf("%d alarms lost", r.lost())
	}
}

// print writes the scenario's block.
func (r *result) print(out io.Writer) {
	med, mx := stats(r.recover)
	fmt.Fprintf(out, "scenario %s: cycles %d pressed %d delivered %d lost %d duplicates %d max_recover %s median_recover %s\n",
		r.name, r.cycles, r.pressed, r.delivered, max(r.lost(), 0), r.duplicates, round(mx), round(med))
	for _, n := range r.notes {
		fmt.Fprintf(out, "  %s\n", n)
	}
	for _, f := range r.failures {
		fmt.Fprintf(out, "  FAIL: %s\n", f)
	}
}

// stats returns the median and the maximum.
func stats(ds []time.Duration) (median, maximum time.Duration) {
	if len(ds) == 0 {
		return 0, 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2], s[len(s)-1]
}

func round(d time.Duration) time.Duration {
	if d > 10*time.Second {
		return d.Round(100 * time.Millisecond)
	}
	return d.Round(time.Millisecond)
}
