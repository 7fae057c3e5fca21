package gpiopin

import (
	"context"

	"periph.io/x/conn/v3/gpio"

	"kioskd/devices"
)

// Button is a call button on a GPIO input. It implements devices.Input.
type Button struct {
	name      string
	pin       gpio.PinIn
	activeLow bool
	cfg       devices.PressConfig
}

// NewButton returns a button called name on pin. An active-low button is
// wired to ground and gets the pull-up; an active-high one is wired to the
// supply and gets the pull-down. Zero fields of cfg get their defaults.
func NewButton(name string, pin gpio.PinIn, activeLow bool, cfg devices.PressConfig) *Button {
	return &Button{name: name, pin: pin, activeLow: activeLow, cfg: cfg.WithDefaults()}
}

// Name implements devices.Input.
func (b *Button) Name() string { return b.name }

// Run implements devices.Input. It reports Pressed on press-down after the
// debounce, LongPressed and Stuck while held, Unstuck on release of a stuck
// button. It returns an error only if the pin cannot be configured.
func (b *Button) Run(ctx context.Context, out chan<- devices.InputEvent) error {
	pull := gpio.PullDown
	if b.activeLow {
		pull = gpio.PullUp
	}
	det := devices.NewPressDetector(b.name, b.cfg)
	return watch(ctx, b.name, b.pin, pull, activeLevel(b.activeLow), det.Sample, out)
}
