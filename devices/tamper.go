package devices

import "time"

// TamperDetector turns level samples of a tamper switch into TamperOpened and
// TamperClosed events. Like PressDetector it does no I/O and reads no clock.
// The switch's state is unknown until its first stable level: a switch that
// is open from the start reports TamperOpened, a closed one reports nothing.
type TamperDetector struct {
	name  string
	level debouncer
}

// NewTamperDetector returns a detector for the switch called name. A
// debounce of zero or less means DefaultDebounce.
func NewTamperDetector(name string, debounce time.Duration) *TamperDetector {
	if debounce <= 0 {
		debounce = DefaultDebounce
	}
	return &TamperDetector{name: name, level: debouncer{delay: debounce}}
}

// Sample feeds the state seen at at and returns the events it completes;
// like PressDetector.Sample, the previous state is taken to have held until at.
func (d *TamperDetector) Sample(open bool, at time.Time) []InputEvent {
	evs := d.Tick(at)
	d.level.sample(open, at)
	return append(evs, d.Tick(at)...)
}

// Tick returns the event, if any, that the passing of time alone completes.
func (d *TamperDetector) Tick(at time.Time) []InputEvent {
	wasKnown := d.level.known
	if !d.level.settle(at) {
		return nil
	}
	switch {
	case d.level.stable:
		return []InputEvent{{Input: d.name, Kind: TamperOpened, At: at}}
	case wasKnown:
		return []InputEvent{{Input: d.name, Kind: TamperClosed, At: at}}
	}
	return nil
}
