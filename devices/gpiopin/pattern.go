package gpiopin

import (
	"time"

	"kioskd/devices"
)

// step is one phase of a pattern: on or off for d, or for ever if d is 0.
type step struct {
	on bool
	d  time.Duration
}

var (
	steadyOff = []step{{false, 0}}
	steadyOn  = []step{{true, 0}}

	// ledSteps is what an LED shows for each pattern.
	ledSteps = map[devices.Pattern][]step{
		devices.PatternIdle:       steadyOff,
		devices.PatternRegistered: {{true, 125 * time.Millisecond}, {false, 125 * time.Millisecond}}, // 4 Hz
		devices.PatternDelivered:  {{true, 500 * time.Millisecond}, {false, 500 * time.Millisecond}}, // 1 Hz
		devices.PatternAccepted:   steadyOn,
		devices.PatternFault: { // double flash, once a second
			{true, 100 * time.Millisecond}, {false, 100 * time.Millisecond},
			{true, 100 * time.Millisecond}, {false, 700 * time.Millisecond},
		},
	}
)

// steps returns what the indicator shows for p. An unknown pattern is a bug
// upstream; showing fault says so instead of hiding it.
func (in *Indicator) steps(p devices.Pattern) []step {
	if in.cfg.Relay {
		if p == devices.PatternIdle || p == devices.PatternDelivered || p == devices.PatternAccepted {
			return steadyOff
		}
		return steadyOn
	}
	if s, ok := ledSteps[p]; ok {
		return s
	}
	return ledSteps[devices.PatternFault]
}
