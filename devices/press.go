package devices

import "time"

// Defaults for PressConfig.
const (
	DefaultDebounce   = 30 * time.Millisecond
	DefaultLongPress  = 3 * time.Second
	DefaultStuckAfter = 30 * time.Second
)

// PressConfig tunes how a call button's level becomes press events.
type PressConfig struct {
	Debounce   time.Duration // a level must hold this long to count
	LongPress  time.Duration // a hold this long is a long press (urgent alarm)
	StuckAfter time.Duration // a hold this long is a stuck button: one fault
}

// WithDefaults returns c with its zero (or negative) fields set to the defaults.
func (c PressConfig) WithDefaults() PressConfig {
	if c.Debounce <= 0 {
		c.Debounce = DefaultDebounce
	}
	if c.LongPress <= 0 {
		c.LongPress = DefaultLongPress
	}
	if c.StuckAfter <= 0 {
		c.StuckAfter = DefaultStuckAfter
	}
	return c
}

// PressDetector turns level samples of one button into press events. It does
// no I/O and reads no clock: callers pass the time of every sample, so the
// same detector serves real pins, simulated buttons and tests. It is not safe
// for concurrent use.
type PressDetector struct {
	name   string
	cfg    PressConfig
	level  debouncer
	downAt time.Time // when the current stable press began
	long   bool      // LongPressed was sent for this hold
	stuck  bool      // Stuck was sent; ignore the button until released
}

// NewPressDetector returns a detector for the button called name, which
// starts released. Zero fields of cfg get their defaults.
func NewPressDetector(name string, cfg PressConfig) *PressDetector {
	cfg = cfg.WithDefaults()
	return &PressDetector{
		name:  name,
		cfg:   cfg,
		level: debouncer{delay: cfg.Debounce, known: true},
	}
}

// Sample feeds the level seen at at, from an edge or from polling, and
// returns the events it completes. The previous level is taken to have held
// until at, so a press is reported even if no Tick came before its release.
func (d *PressDetector) Sample(pressed bool, at time.Time) []InputEvent {
	evs := d.Tick(at)
	d.level.sample(pressed, at)
	return append(evs, d.Tick(at)...)
}

// Tick returns the events that the passing of time alone completes: a press
// whose debounce has run out, a long press, a stuck button.
func (d *PressDetector) Tick(at time.Time) []InputEvent {
	var evs []InputEvent
	if d.level.settle(at) {
		if d.level.stable {
			d.downAt, d.long = d.level.rawSince, false
			evs = append(evs, d.event(Pressed, at, at.Sub(d.downAt)))
		} else if d.stuck {
			d.stuck = false
			evs = append(evs, d.event(Unstuck, at, d.level.rawSince.Sub(d.downAt)))
		}
	}
	if !d.level.stable || d.stuck {
		return evs
	}
	held := at.Sub(d.downAt)
	if !d.long && held >= d.cfg.LongPress {
		d.long = true
		evs = append(evs, d.event(LongPressed, at, held))
	}
	if held >= d.cfg.StuckAfter {
		d.stuck = true
		evs = append(evs, d.event(Stuck, at, held))
	}
	return evs
}

func (d *PressDetector) event(k InputKind, at time.Time, held time.Duration) InputEvent {
	return InputEvent{Input: d.name, Kind: k, At: at, Held: held}
}
