package gpiopin

import (
	"context"
	"time"

	"periph.io/x/conn/v3/gpio"

	"kioskd/devices"
)

// Tamper is the enclosure's tamper switch on a GPIO input. It implements
// devices.Input, reporting TamperOpened and TamperClosed.
type Tamper struct {
	name     string
	pin      gpio.PinIn
	openLow  bool
	debounce time.Duration
}

// NewTamper returns a tamper switch called name on pin. openLow says the pin
// reads low when the enclosure is open. The pin always gets the pull-up,
// whatever openLow says: tamper loops are wired to ground, and with
// openLow false a cut wire then reads as open, which is what it is. A
// debounce of zero means devices.DefaultDebounce.
func NewTamper(name string, pin gpio.PinIn, openLow bool, debounce time.Duration) *Tamper {
	return &Tamper{name: name, pin: pin, openLow: openLow, debounce: debounce}
}

// Name implements devices.Input.
func (t *Tamper) Name() string { return t.name }

// Run implements devices.Input. A switch that is open at start reports
// TamperOpened once its level is stable. It returns an error only if the pin
// cannot be configured.
func (t *Tamper) Run(ctx context.Context, out chan<- devices.InputEvent) error {
	det := devices.NewTamperDetector(t.name, t.debounce)
	return watch(ctx, t.name, t.pin, gpio.PullUp, activeLevel(t.openLow), det.Sample, out)
}
