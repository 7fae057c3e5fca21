package main

import (
	"context"
	"time"
)

const (
	keepalive = 5 * time.Second // mqtt.keepalive in the harness config, the minimum allowed
	// detectLimit is the promise, 1.5 × keepalive, plus 250 ms for the
	// harness: it sees the kiosk give up only when the close reaches the proxy.
	detectLimit  = keepalive*3/2 + 250*time.Millisecond
	proxyDelay   = 200 * time.Millisecond
	proxyRate    = 2 << 10 // bytes per second, each way
	faultHoldMin = 1 * time.Second
	faultHoldMax = 3 * time.Second
)

// proxyFaults are the proxy's misbehaviours, played in turn.
var proxyFaults = []string{"reset", "blackhole", "delay", "throttle"}

// runProxy puts a TCP proxy between kioskd and mosquitto (the platform talks
// to mosquitto directly) and, during press bursts, resets the connection,
// black-holes it, adds 200 ms of latency each way, or throttles it to 2 KB/s.
func runProxy(ctx context.Context, e *env, cycles int) *result {
	r := &result{name: "proxy", cycles: cycles}
	w, err := newWorld(ctx, e, "proxy", worldOpts{viaProxy: true})
	if err != nil {
		r.failf("setup: %v", err)
		return r
	}
	defer w.close()
	t := proxyTally{byFault: map[string][]time.Duration{}}
	last := time.Now()
	for i := 1; i <= cycles && ctx.Err() == nil; i++ {
		w.proxyCycle(ctx, r, &t, i)
		w.progress(i, cycles, &last)
	}
	t.report(r)
	r.finish(ctx, w, false)
	return r
}

type proxyTally struct {
	detect      []time.Duration // black hole to the kiosk giving up on it
	byFault     map[string][]time.Duration
	unconfirmed int
}

// proxyCycle presses, plays the cycle's fault during the burst, and waits
// for delivery.
func (w *world) proxyCycle(ctx context.Context, r *result, t *proxyTally, i int) {
	fault := proxyFaults[(i-1)%len(proxyFaults)]
	t.unconfirmed += w.burst(ctx, w.e.rng.IntN(4))
	var end time.Time
	switch fault {
	case "reset":
		end, t.unconfirmed = w.resets(ctx, t.unconfirmed)
	case "blackhole":
		var d time.Duration
		if end, d, t.unconfirmed = w.blackhole(ctx, r, i, t.unconfirmed); d > 0 {
			t.detect = append(t.detect, d)
		}
	case "delay", "throttle":
		end, t.unconfirmed = w.shaped(ctx, fault, t.unconfirmed)
	}
	if at, ok := w.waitDelivered(ctx, settleWait); ok {
		r.recover = append(r.recover, at.Sub(end))
		t.byFault[fault] = append(t.byFault[fault], at.Sub(end))
	} else {
		r.failf("cycle %d (%s): presses not delivered within %v", i, fault, settleWait)
	}
}

func (t *proxyTally) report(r *result) {
	med, mx := stats(t.detect)
	r.notef("black hole noticed by kioskd (it closed the dead connection) in median %s, max %s over %d; limit 1.5 × keepalive (+250 ms) = %s",
		round(med), round(mx), len(t.detect), detectLimit)
	for _, f := range proxyFaults {
		med, mx := stats(t.byFault[f])
		r.notef("%s: %d cycles, recover median %s, max %s", f, len(t.byFault[f]), round(med), round(mx))
	}
	r.notef("recover = end of the fault (for reset and black hole: its start) to every journaled press at the platform")
	if t.unconfirmed > 0 {
		r.failf("%d presses taken by the sim API never showed in /api/state", t.unconfirmed)
	}
}

// resets presses while resetting the connection before about half the
// presses; it returns the time of the last reset.
func (w *world) resets(ctx context.Context, unconfirmed int) (time.Time, int) {
	w.proxy.Reset()
	end := time.Now()
	for range 1 + w.e.rng.IntN(6) {
		if w.e.rng.IntN(2) == 0 {
			w.proxy.Reset()
			end = time.Now()
		}
		unconfirmed += w.burst(ctx, 1)
	}
	return end, unconfirmed
}

// blackhole swallows the open connection, presses into it, and waits for
// kioskd to notice. It returns when the fault started and how long noticing
// took (0 if it never did).
func (w *world) blackhole(ctx context.Context, r *result, cycle, unconfirmed int) (time.Time, time.Duration, int) {
	start := time.Now()
	w.proxy.Blackhole()
	defer w.proxy.ClearBlackhole()
	unconfirmed += w.burst(ctx, 1+w.e.rng.IntN(6))
	for deadline := start.Add(3 * keepalive); time.Now().Before(deadline) && ctx.Err() == nil; time.Sleep(10 * time.Millisecond) {
		if at, ok := w.proxy.BlackholeNoticed(); ok {
			d := at.Sub(start)
			if d > detectLimit {
				r.failf("cycle %d: black hole noticed after %s, limit %s", cycle, round(d), detectLimit)
			}
			return start, d, unconfirmed
		}
	}
	r.failf("cycle %d: black-holed connection not given up within %s", cycle, 3*keepalive)
	return start, 0, unconfirmed
}

// shaped presses through a slow link (delay or throttle) for a while and
// returns when the link was made fast again.
func (w *world) shaped(ctx context.Context, fault string, unconfirmed int) (time.Time, int) {
	if fault == "delay" {
		w.proxy.Shape(proxyDelay, 0)
	} else {
		w.proxy.Shape(0, proxyRate)
	}
	until := time.Now().Add(w.e.jitter(faultHoldMin, faultHoldMax))
	unconfirmed += w.burst(ctx, 1+w.e.rng.IntN(8))
	time.Sleep(time.Until(until))
	w.proxy.Shape(0, 0)
	return time.Now(), unconfirmed
}
