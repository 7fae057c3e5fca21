package main

import (
	"context"
	"time"
)

// runBroker stops mosquitto in the middle of a press burst (SIGTERM, one
// time in three SIGKILL), presses while it is away, and starts it again.
// mosquitto runs without persistence, so everything it held is gone: only
// the kiosk's journal can bring the alarms through.
func runBroker(ctx context.Context, e *env, cycles int) *result {
	r := &result{name: "broker", cycles: cycles}
	w, err := newWorld(ctx, e, "broker", worldOpts{})
	if err != nil {
		r.failf("setup: %v", err)
		return r
	}
	defer w.close()
	kills, unconfirmed := 0, 0
	last := time.Now()
	for i := 1; i <= cycles && ctx.Err() == nil; i++ {
		unconfirmed += w.burst(ctx, e.rng.IntN(5))
		stop := w.broker.Stop // SIGTERM
		if e.rng.IntN(3) == 0 {
			stop = w.broker.Kill // SIGKILL
			kills++
		}
		stop()
		unconfirmed += w.burst(ctx, 1+e.rng.IntN(8))
		time.Sleep(e.jitter(0, 500*time.Millisecond))
		if err := w.broker.Restart(); err != nil {
			r.failf("cycle %d: restart mosquitto: %v", i, err)
			break
		}
		back := time.Now()
		if at, ok := w.waitDelivered(ctx, settleWait); ok {
			r.recover = append(r.recover, at.Sub(back))
		} else {
			r.failf("cycle %d: presses not delivered within %v of the broker's return", i, settleWait)
		}
		w.progress(i, cycles, &last)
	}
	r.notef("mosquitto stopped %d times with SIGTERM, %d with SIGKILL", r.cycles-kills, kills)
	r.notef("recover = mosquitto accepting again to every journaled press at the platform")
	if unconfirmed > 0 {
		r.failf("%d presses taken by the sim API never showed in /api/state", unconfirmed)
	}
	r.finish(ctx, w, false)
	return r
}
