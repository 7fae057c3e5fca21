package sim

import (
	"context"
	"sync"
	"time"

	"kioskd/devices"
)

// Tamper is a simulated tamper switch, closed at start. It implements
// devices.Input. A simulated switch does not bounce, so it reports changes
// at once, without debounce.
type Tamper struct {
	name string

	mu      sync.Mutex
	open    bool
	pending []devices.InputEvent // changes Run has not sent yet
	wake    chan struct{}        // capacity 1
}

// NewTamper returns a closed tamper switch called name.
func NewTamper(name string) *Tamper {
	return &Tamper{name: name, wake: make(chan struct{}, 1)}
}

// Name implements devices.Input.
func (t *Tamper) Name() string { return t.name }

// Open opens the enclosure. Opening an open one does nothing.
func (t *Tamper) Open() { t.set(true) }

// Close closes the enclosure. Closing a closed one does nothing.
func (t *Tamper) Close() { t.set(false) }

func (t *Tamper) set(open bool) {
	t.mu.Lock()
	if t.open == open {
		t.mu.Unlock()
		return
	}
	t.open = open
	kind := devices.TamperClosed
	if open {
		kind = devices.TamperOpened
	}
	if len(t.pending) >= maxQueued {
		t.pending = t.pending[1:]
	}
	t.pending = append(t.pending, devices.InputEvent{Input: t.name, Kind: kind, At: time.Now()})
	t.mu.Unlock()
	select {
	case t.wake <- struct{}{}:
	default: // Run is already due to look.
	}
}

// Run implements devices.Input. It returns nil when ctx is done.
func (t *Tamper) Run(ctx context.Context, out chan<- devices.InputEvent) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.wake:
		}
		t.mu.Lock()
		evs := t.pending
		t.pending = nil
		t.mu.Unlock()
		if !send(ctx, out, evs) {
			return nil
		}
	}
}
