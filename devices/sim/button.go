package sim

import (
	"context"
	"sync"
	"time"

	"kioskd/devices"
)

// Button is a simulated call button. It implements devices.Input. Press,
// Down and Up move its contact; Run reports what a real button would.
type Button struct {
	name string
	cfg  devices.PressConfig

	mu        sync.Mutex
	changes   []change  // contact movements Run has not seen yet
	releaseAt time.Time // when the last Press lets go; zero if none pending
}

// change is the contact moving at a moment.
type change struct {
	pressed bool
	at      time.Time
}

// NewButton returns a released button called name. Zero fields of cfg get
// their defaults.
func NewButton(name string, cfg devices.PressConfig) *Button {
	return &Button{name: name, cfg: cfg.WithDefaults()}
}

// Name implements devices.Input.
func (b *Button) Name() string { return b.name }

// Press presses the button now and releases it after hold. It does not block.
func (b *Button) Press(hold time.Duration) {
	now := time.Now()
	b.mu.Lock()
	defer b.mu.Unlock()
	b.push(change{true, now})
	b.releaseAt = now.Add(hold)
}

// Down presses the button and holds it until Up.
func (b *Button) Down() { b.move(true) }

// Up releases the button.
func (b *Button) Up() { b.move(false) }

func (b *Button) move(pressed bool) {
	now := time.Now()
	b.mu.Lock()
	defer b.mu.Unlock()
	b.push(change{pressed, now})
	b.releaseAt = time.Time{}
}

// push queues c after any release that fell due before it; the caller
// holds mu.
func (b *Button) push(c change) {
	b.releaseDue(c.at)
	if len(b.changes) >= maxQueued {
		b.changes = b.changes[1:]
	}
	b.changes = append(b.changes, c)
}

// releaseDue queues the pending release of a Press if it is due by now; the
// caller holds mu.
func (b *Button) releaseDue(now time.Time) {
	if b.releaseAt.IsZero() || now.Before(b.releaseAt) {
		return
	}
	at := b.releaseAt
	b.releaseAt = time.Time{}
	b.push(change{false, at})
}

// take returns the contact's movements up to now.
func (b *Button) take(now time.Time) []change {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.releaseDue(now)
	cs := b.changes
	b.changes = nil
	return cs
}

// Run implements devices.Input. It looks at the contact a few times per
// debounce interval, as a polled pin would be, and returns nil when ctx is done.
func (b *Button) Run(ctx context.Context, out chan<- devices.InputEvent) error {
	det := devices.NewPressDetector(b.name, b.cfg)
	tick := time.NewTicker(min(max(b.cfg.Debounce/4, time.Millisecond), 10*time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		now := time.Now()
		var evs []devices.InputEvent
		for _, c := range b.take(now) {
			evs = append(evs, det.Sample(c.pressed, c.at)...)
		}
		evs = append(evs, det.Tick(now)...)
		if !send(ctx, out, evs) {
			return nil
		}
	}
}

// send sends evs in order; it reports false if ctx ended first.
func send(ctx context.Context, out chan<- devices.InputEvent, evs []devices.InputEvent) bool {
	for _, ev := range evs {
		select {
		case out <- ev:
		case <-ctx.Done():
			return false
		}
	}
	return true
}
