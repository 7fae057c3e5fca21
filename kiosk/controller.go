package kiosk

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"kioskd/kiosk/journal"
)

// ErrStopped is returned by Submit when the controller is not running.
var ErrStopped = errors.New("controller stopped")

// Committed is told, on the controller's goroutine, of every journaled step:
// the events as stored and the state after them. It must not block.
type Committed func(events []journal.Event, s State)

// Controller is the one goroutine that owns the incident state.
type Controller struct {
	rules     Rules
	version   string
	journal   *journal.Journal
	clock     *Clock
	log       *slog.Logger
	requests  chan request
	stopped   chan struct{} // closed when Run returns
	booted    chan struct{} // closed when Run has journaled the start
	committed []Committed
	lastTurn  atomic.Int64 // unix nanoseconds of the loop's last turn
	// reconcileEvery: how often Run mends incidents whose ack reached the
	// journal but whose Deliver did not reach the loop (a busy controller).
	reconcileEvery time.Duration

	mu    sync.RWMutex
	state State // written only by Run's goroutine, under mu
}

type request struct {
	in   Input
	done chan result
}

type result struct {
	incident string
	err      error
}

// Load reads the open incidents back from the journal.
func Load(j *journal.Journal) (State, error) {
	s := NewState()
	snaps, err := j.OpenIncidents()
	if err != nil {
		return s, fmt.Errorf("load open incidents: %w", err)
	}
	for _, snap := range snaps {
		if snap.ID == RecoverySnapshotID {
			if err := loadRecovery(&s, snap); err != nil {
				return s, err
			}
			continue
		}
		in := new(Incident)
		if err := json.Unmarshal(snap.Data, in); err != nil {
			return s, fmt.Errorf("load incident %s: %w", snap.ID, err)
		}
		s.Incidents[in.ID] = in
	}
	return s, nil
}

// New builds a controller around a loaded state. It does no I/O.
func New(rules Rules, version string, j *journal.Journal, clock *Clock, s State, log *slog.Logger) *Controller {
	c := &Controller{
		rules: rules, version: version, journal: j, clock: clock, log: log,
		requests: make(chan request), stopped: make(chan struct{}), booted: make(chan struct{}), state: s,
		reconcileEvery: 30 * time.Second,
	}
	// A loop that has not started yet has not stalled: without this, a
	// health report between New and Run would say "stalled for 56 years".
	c.lastTurn.Store(time.Now().UnixNano())
	return c
}

// OnCommit registers f; call before Run.
func (c *Controller) OnCommit(f Committed) { c.committed = append(c.committed, f) }

// State returns a copy of the current state.
func (c *Controller) State() State {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.state.Clone()
}

// Booted is closed once Run has journaled the start, and with it what the
// start found (a journal recovery): report state or health only after it.
func (c *Controller) Booted() <-chan struct{} { return c.booted }

// Alive reports an error if the loop has not turned in the last few seconds.
func (c *Controller) Alive() error {
	last := time.Unix(0, c.lastTurn.Load())
	if age := time.Since(last); age > 5*time.Second {
		return fmt.Errorf("controller loop stalled for %s", age.Round(time.Second))
	}
	return nil
}

// Submit hands one input to the controller and waits until it is journaled
// (or refused). It returns the id of the incident the input touched.
func (c *Controller) Submit(ctx context.Context, in Input) (string, error) {
	in = withNewID(in)
	req := request{in: in, done: make(chan result, 1)}
	select {
	case c.requests <- req:
	case <-c.stopped:
		return "", fmt.Errorf("submit %T: %w", in, ErrStopped)
	case <-ctx.Done():
		return "", fmt.Errorf("submit %T: %w", in, ctx.Err())
	}
	select {
	case r := <-req.done:
		return r.incident, r.err
	case <-ctx.Done():
		return "", fmt.Errorf("submit %T: %w", in, ctx.Err())
	}
}

func withNewID(in Input) Input {
	switch v := in.(type) {
	case Press:
		if v.NewID == "" {
			v.NewID = NewIncidentID()
		}
		return v
	case TamperOpened:
		if v.NewID == "" {
			v.NewID = NewIncidentID()
		}
		return v
	}
	return in
}

// NewIncidentID returns a random incident id.
func NewIncidentID() string {
	var b [8]byte
	rand.Read(b[:])
	return "inc-" + hex.EncodeToString(b[:])
}

// Run owns the state until ctx is done. It journals the start, notices
// incidents the platform already holds, then serves inputs and deadlines.
func (c *Controller) Run(ctx context.Context) error {
	defer close(c.stopped)
	c.lastTurn.Store(time.Now().UnixNano())
	boot := bootRecovery(c.journal)
	boot.Version = c.version
	if _, err := c.apply(boot); err != nil {
		return fmt.Errorf("journal the start: %w", err)
	}
	close(c.booted)
	c.reconcileDelivered()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	lastReconcile := time.Now()
	for {
		c.lastTurn.Store(time.Now().UnixNano())
		select {
		case <-ctx.Done():
			return nil
		case req := <-c.requests:
			id, err := c.apply(req.in)
			req.done <- result{incident: id, err: err}
		case <-tick.C:
			c.followWallClock()
			if _, err := c.apply(Tick{}); err != nil {
				c.log.Error("deadline check not journaled; will retry", "err", err)
			}
			if time.Since(lastReconcile) >= c.reconcileEvery {
				c.reconcileDelivered()
				lastReconcile = time.Now()
			}
		}
	}
}

// apply steps the state, journals the effects, and only then adopts the new
// state and tells the listeners. A journal failure leaves everything as it was.
func (c *Controller) apply(in Input) (string, error) {
	now := c.clock.Now()
	next, fx, err := c.rules.Step(c.state, in, now)
	if err != nil || fx.Empty() {
		return "", err
	}
	recs, snaps, err := toJournal(fx)
	if err != nil {
		return "", err
	}
	events, err := c.journal.Append(now, c.clock.Synced(), recs, snaps)
	if err != nil {
		return "", fmt.Errorf("journal %T: %w", in, err)
	}
	c.mu.Lock()
	c.state = next
	c.mu.Unlock()
	for _, f := range c.committed {
		f(events, next)
	}
	return fx.Records[0].Incident, nil
}

func toJournal(fx Effects) ([]journal.Record, []journal.Snapshot, error) {
	recs := make([]journal.Record, 0, len(fx.Records))
	for _, r := range fx.Records {
		data, err := json.Marshal(r.Data)
		if err != nil {
			return nil, nil, fmt.Errorf("encode %s: %w", r.Type, err)
		}
		recs = append(recs, journal.Record{Type: r.Type, Incident: r.Incident, Data: data, Urgent: r.Urgent, Telemetry: r.Telemetry})
	}
	snaps := make([]journal.Snapshot, 0, len(fx.Snapshots))
	for _, in := range fx.Snapshots {
		data, err := json.Marshal(in)
		if err != nil {
			return nil, nil, fmt.Errorf("encode incident %s: %w", in.ID, err)
		}
		snaps = append(snaps, journal.Snapshot{ID: in.ID, Open: in.Open(), Data: data})
	}
	if fx.Recovery != nil {
		snap, err := recoverySnapshot(fx.Recovery)
		if err != nil {
			return nil, nil, err
		}
		snaps = append(snaps, snap)
	}
	return recs, snaps, nil
}

// followWallClock steps kiosk time to a synchronised system clock that has
// drifted from it (a box that booted in 1970 and then found NTP), journaling
// the step and shifting the deadlines with it.
func (c *Controller) followWallClock() {
	d := c.clock.Drift()
	if d < maxDrift && d > -maxDrift {
		return
	}
	if _, err := c.apply(ClockStepped{Delta: d}); err != nil {
		c.log.Error("clock step not journaled; will retry", "err", err)
		return
	}
	c.clock.Step(d)
	c.log.Info("kiosk clock stepped to the synchronised system clock", "delta", d)
}

// reconcileDelivered marks delivered the open incidents whose events the
// platform acked before a crash cut us off between the ack and the event.
func (c *Controller) reconcileDelivered() {
	for id, in := range c.state.Incidents {
		if in.Delivered {
			continue
		}
		events, err := c.journal.IncidentEvents(id)
		if err != nil {
			c.log.Error("reconcile delivery", "incident", id, "err", err)
			continue
		}
		for _, ev := range events {
			if acked, _ := c.journal.Acked(ev.ID); acked {
				if _, err := c.apply(Deliver{Incident: id}); err != nil {
					c.log.Error("reconcile delivery", "incident", id, "err", err)
				}
				break
			}
		}
	}
}
