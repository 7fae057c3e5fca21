package gpiopin

import (
	"context"
	"fmt"
	"sync"
	"time"

	"periph.io/x/conn/v3/gpio"

	"kioskd/devices"
)

// IndicatorConfig says what is wired to an indicator pin.
type IndicatorConfig struct {
	// Relay marks a strobe relay rather than an LED: it is on, steadily, for
	// registered and fault, and off otherwise. A relay must not be blinked.
	Relay bool
	// ActiveLow marks a pin driven low to light the LED or close the relay.
	ActiveLow bool
}

// Indicator is an LED or a strobe relay on a GPIO output. It implements
// devices.Indicator.
type Indicator struct {
	name string
	pin  gpio.PinOut
	cfg  IndicatorConfig

	mu      sync.Mutex
	pattern devices.Pattern
	changed chan struct{} // wakes Run after Show; capacity 1
}

// NewIndicator returns an indicator called name on pin, showing idle.
func NewIndicator(name string, pin gpio.PinOut, cfg IndicatorConfig) *Indicator {
	return &Indicator{
		name:    name,
		pin:     pin,
		cfg:     cfg,
		pattern: devices.PatternIdle,
		changed: make(chan struct{}, 1),
	}
}

// Name implements devices.Indicator.
func (in *Indicator) Name() string { return in.name }

// Show implements devices.Indicator. It never blocks and is safe for
// concurrent use; Run picks the pattern up at once.
func (in *Indicator) Show(p devices.Pattern) {
	in.mu.Lock()
	in.pattern = p
	in.mu.Unlock()
	select {
	case in.changed <- struct{}{}:
	default: // Run is already due to look.
	}
}

func (in *Indicator) current() devices.Pattern {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.pattern
}

// Run implements devices.Indicator. It drives the pin through the current
// pattern's steps until ctx is done, then drives it off. It returns an error
// only if the pin cannot be driven.
func (in *Indicator) Run(ctx context.Context) error {
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	steps := in.steps(in.current())
	i := 0
	for {
		if err := in.drive(steps[i].on); err != nil {
			return err
		}
		var wait <-chan time.Time // nil: a steady step waits for a change
		if steps[i].d > 0 {
			timer.Reset(steps[i].d)
			wait = timer.C
		}
		select {
		case <-ctx.Done():
			return in.drive(false)
		case <-in.changed:
			steps, i = in.steps(in.current()), 0
		case <-wait:
			i = (i + 1) % len(steps)
		}
	}
}

func (in *Indicator) drive(on bool) error {
	l := gpio.Level(on != in.cfg.ActiveLow)
	if err := in.pin.Out(l); err != nil {
		return fmt.Errorf("gpiopin: drive indicator %q on pin %s: %w", in.name, in.pin, err)
	}
	return nil
}
