package main

import (
	"bytes"
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"kioskd/hack/brokertest"
)

// TestFleetStormAndBrokerRestart runs 20 real kiosks against a real
// mosquitto, storms them, kills the broker with SIGKILL mid-storm and
// restarts it: every journaled alarm must reach the consumer, and the fleet
// must be back within the bounds set by cloudlink's reconnect backoff.
func TestFleetStormAndBrokerRestart(t *testing.T) {
	brokertest.RequireMosquitto(t)
	var logs lockedBuffer // the kiosks' log, shown for the kiosks that did not drain
	if _, err := raiseFileLimit(); err != nil {
		t.Fatal(err)
	}
	cfg := config{
		Kiosks: 20, Alarms: 400, Rate: 200, Duration: 10 * time.Second, Drain: 40 * time.Second,
		Restart: true, RestartAt: 0.5, Pause: time.Second, Consumers: 2,
		Heartbeat: time.Second, AckTimeout: 10 * time.Second, StateDir: t.TempDir(),
		Limits: brokerLimits{MaxQueued: 100000}, Log: slog.New(slog.NewTextHandler(&logs, nil)),
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	tl := res.Tally
	if res.Pressed != cfg.Alarms || res.PressErrors != 0 {
		t.Errorf("pressed %d with %d errors, want %d without errors", res.Pressed, res.PressErrors, cfg.Alarms)
	}
	if tl.Alarms != cfg.Alarms {
		t.Errorf("alarms journaled = %d, want %d", tl.Alarms, cfg.Alarms)
	}
	if tl.Lost != 0 || len(tl.Total) != tl.Alarms {
		t.Errorf("lost %d, received %d of %d alarms; want none lost", tl.Lost, len(tl.Total), tl.Alarms)
	}
	if !res.Restarted || res.Backlog == 0 {
		t.Errorf("restarted %v with a backlog of %d alarms; want a restart with alarms outstanding", res.Restarted, res.Backlog)
	}
	// cloudlink's backoff never waits more than 30 s, and a kiosk that
	// reconnects before the consumer resubscribes waits one ack timeout
	// more (10 s, but its first wait was short then); most are back in a
	// second or two.
	if limit := 31 * time.Second; res.Recovered > limit {
		t.Errorf("backlog received %v after the broker restart, want within %v", res.Recovered, limit)
	}
	if p50, limit := percentile(res.Reconnects, 50), 5*time.Second; p50 > limit {
		t.Errorf("half the kiosks back online after %v, want within %v", p50, limit)
	}
	if res.OutboxLeft != 0 {
		t.Errorf("%d outboxes not empty at the end, want 0 (the wait for the drain timed out: %v)", res.OutboxLeft, res.DrainTimedOut)
		for _, d := range res.Undrained {
			t.Log(d)
		}
		t.Logf("the kiosks' log:\n%s", logs.String())
	}
	t.Logf("p50 %v p99 %v, duplicates %d, online after %v, recovered after %v",
		percentile(tl.Total, 50), percentile(tl.Total, 99), tl.Duplicates, res.Online, res.Recovered)
}

// lockedBuffer is a bytes.Buffer for a log written by many goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestLedgerEitherOrder checks that an alarm counts once whichever side
// reports it first, and that repeats count as duplicates.
func TestLedgerEitherOrder(t *testing.T) {
	t0 := time.Unix(1000, 0)
	tests := []struct {
		name                 string
		steps                func(l *ledger)
		lost, dups, received int
	}{
		{"journaled first", func(l *ledger) { l.journaled("a", t0, t0); l.store("a", t0.Add(time.Millisecond)) }, 0, 0, 1},
		{"stored first", func(l *ledger) { l.store("a", t0.Add(time.Millisecond)); l.journaled("a", t0, t0) }, 0, 0, 1},
		{"never stored", func(l *ledger) { l.journaled("a", t0, t0) }, 1, 0, 0},
		{"stored twice", func(l *ledger) { l.journaled("a", t0, t0); l.store("a", t0); l.store("a", t0) }, 0, 1, 1},
		{"not an alarm", func(l *ledger) { l.store("x", t0); l.store("x", t0) }, 0, 1, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := newLedger()
			tc.steps(l)
			got := l.tally(time.Time{})
			if got.Lost != tc.lost || got.Duplicates != tc.dups || len(got.Total) != tc.received {
				t.Errorf("lost %d, duplicates %d, received %d; want %d, %d, %d",
					got.Lost, got.Duplicates, len(got.Total), tc.lost, tc.dups, tc.received)
			}
		})
	}
}

func TestPercentile(t *testing.T) {
	d := []time.Duration{5, 1, 4, 2, 3, 6, 7, 8, 9, 10}
	for _, tc := range []struct {
		p    float64
		want time.Duration
	}{{50, 5}, {99, 10}, {100, 10}, {10, 1}, {1, 1}} {
		if got := percentile(d, tc.p); got != tc.want {
			t.Errorf("percentile(%v) = %v, want %v", tc.p, got, tc.want)
		}
	}
	if got := percentile(nil, 50); got != 0 {
		t.Errorf("percentile of none = %v, want 0", got)
	}
}
