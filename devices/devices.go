// Package devices holds the small interfaces and value types that the kiosk's
// hardware is seen through: inputs (call buttons, the tamper switch) and
// indicators (LEDs, the strobe relay). It does no I/O itself; implementations
// live in devices/gpiopin (real pins) and devices/sim (simulated).
package devices

import (
	"context"
	"time"
)

// InputKind says what happened on an input.
type InputKind string

const (
	// Pressed fires on press-down, after debounce, without waiting for release.
	Pressed InputKind = "pressed"
	// LongPressed fires once while the button is still held, when the hold
	// reaches the long-press threshold. It follows a Pressed for the same hold.
	LongPressed InputKind = "long_pressed"
	// Stuck fires once when a button is held past the stuck limit. The button
	// is then ignored until it is released, which fires Unstuck.
	Stuck   InputKind = "stuck"
	Unstuck InputKind = "unstuck"
	// TamperOpened and TamperClosed report the tamper switch.
	TamperOpened InputKind = "tamper_opened"
	TamperClosed InputKind = "tamper_closed"
)

// InputEvent is one thing an input reports.
type InputEvent struct {
	Input string    // the input's configured name, e.g. "police" or "tamper"
	Kind  InputKind //
	At    time.Time // when it was seen (time.Now, with its monotonic reading)
	Held  time.Duration
}

// Input is a button or a switch. Run reports events on out until ctx is done;
// it returns nil on cancellation and an error only when the input cannot be
// read at all. It must never block for ever on out: sends select on ctx too.
type Input interface {
	Name() string
	Run(ctx context.Context, out chan<- InputEvent) error
}

// Pattern is what an indicator shows for a kiosk state.
type Pattern string

const (
	PatternIdle       Pattern = "idle"       // off, or a slow breathe
	PatternRegistered Pattern = "registered" // fast blink: we have it
	PatternDelivered  Pattern = "delivered"  // slow blink: the platform has it
	PatternAccepted   Pattern = "accepted"   // steady on: someone will call back
	PatternFault      Pattern = "fault"      // alternating: something is wrong
)

// Indicator is an LED or a relay that shows a pattern until told otherwise.
// Show must not block; blinking runs in the indicator's own Run loop.
type Indicator interface {
	Name() string
	Show(p Pattern)
	Run(ctx context.Context) error
}
