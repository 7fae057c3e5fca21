package main

import (
	"context"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// storm presses buttons at random kiosks at a fleet-wide rate, for a
// bounded count and time. A press waits for the kiosk's previous press to
// be journaled (one citizen after another), and that wait counts in its latency.
type storm struct {
	kiosks     []*simKiosk
	alarms     int
	rate       float64
	limit      time.Duration
	restartAt  int           // close restartNow after this many presses
	restartNow chan struct{} // closed once; never if restartAt is beyond alarms

	// Results, read after run returns.
	start   time.Time
	lastAt  time.Time // the last press journaled
	pressed int
	failed  atomic.Int64
}

func newStorm(kiosks []*simKiosk, cfg config) *storm {
	return &storm{
		kiosks: kiosks, alarms: cfg.Alarms, rate: cfg.Rate, limit: cfg.Duration,
		restartAt:  max(1, int(cfg.RestartAt*float64(cfg.Alarms))),
		restartNow: make(chan struct{}),
	}
}

func (s *storm) run(ctx context.Context) {
	var wg sync.WaitGroup
	var mu sync.Mutex
	s.start = time.Now()
	s.lastAt = s.start
	for s.pressed < s.alarms && time.Since(s.start) < s.limit && ctx.Err() == nil {
		due := s.alarms
		if s.rate > 0 {
			due = min(s.alarms, int(s.rate*time.Since(s.start).Seconds())+1)
		}
		for ; s.pressed < due; s.pressed++ {
			k, at := s.kiosks[rand.IntN(len(s.kiosks))], time.Now()
			wg.Go(func() {
				if err := k.press(ctx, at); err != nil {
					s.failed.Add(1)
					return
				}
				mu.Lock()
				s.lastAt = later(s.lastAt, time.Now())
				mu.Unlock()
			})
			if s.pressed+1 == s.restartAt {
				close(s.restartNow)
			}
		}
		sleep(ctx, 2*time.Millisecond)
	}
	wg.Wait()
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
