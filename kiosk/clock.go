package kiosk

import (
	"sync"
	"time"
)

// Clock is the kiosk's time. The wall clock is not trusted (the box may boot
// in 1970, or be stepped while running), so the clock is read once at start,
// never earlier than the floor the journal persisted, and from then on only
// advanced by the monotonic clock. Deadlines measured on it survive restarts
// and ignore clock steps. Once the system clock is synchronised, the
// controller moves the kiosk clock to it with Step, shifting every deadline
// by the same amount so none gains or loses time. It is safe for concurrent use.
type Clock struct {
	mu     sync.Mutex
	base   time.Time // kiosk time at start, without a monotonic reading
	start  time.Time // time.Now at start, with its monotonic reading
	wall   func() time.Time
	synced func() bool
}

// maxDrift is how far kiosk time may be from a synchronised wall clock
// before it is stepped to it; also the bound for calling it synced.
const maxDrift = 2 * time.Second

// NewClock starts a clock at max(wall(), floor). wall is the system clock
// (nil: time.Now); synced reports whether it is synchronised (nil: never).
func NewClock(wall func() time.Time, floor time.Time, synced func() bool) *Clock {
	if wall == nil {
		wall = time.Now
	}
	if synced == nil {
		synced = func() bool { return false }
	}
	base := wall().Round(0).UTC()
	if base.Before(floor) {
		base = floor.UTC()
	}
	return &Clock{base: base, start: time.Now(), wall: wall, synced: synced}
}

// Now returns the kiosk time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.base.Add(time.Since(c.start))
}

// Synced reports whether kiosk time agrees with a synchronised system clock.
func (c *Clock) Synced() bool {
	if !c.synced() {
		return false
	}
	d := c.wall().Sub(c.Now())
	return d < maxDrift && d > -maxDrift
}

// Drift is how far a synchronised system clock is ahead of kiosk time; zero
// when the system clock is not synchronised (then it says nothing).
func (c *Clock) Drift() time.Duration {
	if !c.synced() {
		return 0
	}
	return c.wall().Sub(c.Now()).Round(time.Millisecond)
}

// Step moves kiosk time by d.
func (c *Clock) Step(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.base = c.base.Add(d)
}
