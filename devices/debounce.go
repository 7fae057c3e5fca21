package devices

import "time"

// debouncer turns raw level samples into a stable level: a new level counts
// only once it has held, unchanged, for delay.
type debouncer struct {
	delay    time.Duration
	raw      bool      // the last level sampled
	rawSince time.Time // when raw last changed
	seen     bool      // a sample has arrived
	stable   bool      // the debounced level
	known    bool      // stable has been established at least once
}

// sample records the level seen at at.
func (d *debouncer) sample(level bool, at time.Time) {
	if !d.seen || level != d.raw {
		d.raw, d.rawSince, d.seen = level, at, true
	}
}

// settle reports whether the stable level was established or changed at at.
func (d *debouncer) settle(at time.Time) bool {
	if !d.seen || (d.known && d.raw == d.stable) {
		return false
	}
	if at.Sub(d.rawSince) < d.delay {
		return false
	}
	d.stable, d.known = d.raw, true
	return true
}
