package kiosk

import "time"

// Clock is the kiosk's time. The wall clock is not trusted (the box may boot
// in 1970, or be stepped while running), so the clock is read once at start,
// never earlier than the floor the journal persisted, and from then on only
// advanced by the monotonic clock. Deadlines measured on it survive restarts
// and ignore clock steps.
type Clock struct {
	base   time.Time // kiosk time at start, without a monotonic reading
	start  time.Time // time.Now at start, with its monotonic reading
	synced func() bool
}

// NewClock starts a clock at max(wall clock, floor). synced reports whether
// the system clock is synchronised (nil: never).
func NewClock(floor time.Time, synced func() bool) *Clock {
	now := time.Now()
	base := now.Round(0)
	if base.Before(floor) {
		base = floor
	}
	if synced == nil {
		synced = func() bool { return false }
	}
	return &Clock{base: base.UTC(), start: now, synced: synced}
}

// Now returns the kiosk time.
func (c *Clock) Now() time.Time { return c.base.Add(time.Since(c.start)) }

// Synced reports whether the system clock was synchronised when asked.
func (c *Clock) Synced() bool { return c.synced() }
