package gpiopin

import (
	"context"
	"fmt"
	"time"

	"periph.io/x/conn/v3/gpio"

	"kioskd/devices"
)

// PollInterval bounds how long an input waits for an edge before it reads
// the level anyway. It is the backstop for edges the driver never reports.
const PollInterval = 10 * time.Millisecond

// sampler is a detector's Sample method.
type sampler func(active bool, at time.Time) []devices.InputEvent

// watch configures pin as an input with pull and both edges, then feeds its
// level to sample after every edge or poll until ctx is done. A level equal
// to active counts as true. It returns nil on cancellation.
func watch(ctx context.Context, name string, pin gpio.PinIn, pull gpio.Pull, active gpio.Level, sample sampler, out chan<- devices.InputEvent) error {
	if err := pin.In(pull, gpio.BothEdges); err != nil {
		return fmt.Errorf("gpiopin: configure input %q on pin %s: %w", name, pin, err)
	}
	for ctx.Err() == nil {
		// The result does not matter: the level is read either way.
		pin.WaitForEdge(PollInterval)
		for _, ev := range sample(pin.Read() == active, time.Now()) {
			select {
			case out <- ev:
			case <-ctx.Done():
				return nil
			}
		}
	}
	return nil
}

// activeLevel is the level at which an input counts as active.
func activeLevel(activeLow bool) gpio.Level {
	if activeLow {
		return gpio.Low
	}
	return gpio.High
}
