package sim

import (
	"context"
	"slices"
	"sync"

	"kioskd/devices"
)

// Indicator is a simulated LED or relay that records what it is told to
// show. It implements devices.Indicator and is safe for concurrent use.
type Indicator struct {
	name string

	mu      sync.Mutex
	pattern devices.Pattern
	history []devices.Pattern // every change, oldest first, at most maxQueued
}

// NewIndicator returns an indicator called name, showing idle.
func NewIndicator(name string) *Indicator {
	return &Indicator{name: name, pattern: devices.PatternIdle}
}

// Name implements devices.Indicator.
func (in *Indicator) Name() string { return in.name }

// Show implements devices.Indicator. Showing the current pattern again is
// not a change and is not recorded.
func (in *Indicator) Show(p devices.Pattern) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if p == in.pattern {
		return
	}
	in.pattern = p
	if len(in.history) >= maxQueued {
		in.history = in.history[1:]
	}
	in.history = append(in.history, p)
}

// Pattern returns the pattern shown now.
func (in *Indicator) Pattern() devices.Pattern {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.pattern
}

// History returns the patterns shown since start, oldest first, without
// the initial idle.
func (in *Indicator) History() []devices.Pattern {
	in.mu.Lock()
	defer in.mu.Unlock()
	return slices.Clone(in.history)
}

// Run implements devices.Indicator. There is nothing to drive; it waits for
// ctx and returns nil.
func (in *Indicator) Run(ctx context.Context) error {
	<-ctx.Done()
	return nil
}
