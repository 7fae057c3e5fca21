package gpiopin

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpiotest"

	"kioskd/devices"
)

// watchPin samples the pin every 5 ms for one second, starting half a step
// in so no sample coincides with a pattern edge, and reports how many times
// it went on and for what share of the samples it was on.
func watchPin(pin *gpiotest.Pin, onLevel gpio.Level) (flashes int, onShare float64) {
	const samples = 200
	time.Sleep(2500 * time.Microsecond)
	was, on := false, 0
	for range samples {
		is := pin.Read() == onLevel
		if is && !was {
			flashes++
		}
		if is {
			on++
		}
		was = is
		time.Sleep(5 * time.Millisecond)
	}
	return flashes, float64(on) / samples
}

func TestIndicatorPatterns(t *testing.T) {
	tests := []struct {
		name        string
		cfg         IndicatorConfig
		pattern     devices.Pattern
		wantFlashes int
		minOn       float64
		maxOn       float64
	}{
		{"idle is off", IndicatorConfig{}, devices.PatternIdle, 0, 0, 0},
		{"registered blinks fast", IndicatorConfig{}, devices.PatternRegistered, 4, 0.4, 0.6},
		{"delivered blinks slowly", IndicatorConfig{}, devices.PatternDelivered, 1, 0.4, 0.6},
		{"accepted is steady on", IndicatorConfig{}, devices.PatternAccepted, 1, 1, 1},
		{"fault double-flashes", IndicatorConfig{}, devices.PatternFault, 2, 0.1, 0.3},
		{"unknown shows fault", IndicatorConfig{}, devices.Pattern("bogus"), 2, 0.1, 0.3},
		{"active-low accepted", IndicatorConfig{ActiveLow: true}, devices.PatternAccepted, 1, 1, 1},
		{"relay on for registered", IndicatorConfig{Relay: true}, devices.PatternRegistered, 1, 1, 1},
		{"relay on for fault", IndicatorConfig{Relay: true}, devices.PatternFault, 1, 1, 1},
		{"relay off for delivered", IndicatorConfig{Relay: true}, devices.PatternDelivered, 0, 0, 0},
		{"relay off for accepted", IndicatorConfig{Relay: true}, devices.PatternAccepted, 0, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				pin := &gpiotest.Pin{N: "GPIO22"}
				ind := NewIndicator("led", pin, tt.cfg)
				ctx, cancel := context.WithCancel(t.Context())
				done := make(chan error, 1)
				go func() { done <- ind.Run(ctx) }()
				ind.Show(devices.PatternAccepted) // a change before, to see Show switch
				synctest.Wait()
				ind.Show(tt.pattern)
				synctest.Wait()
				onLevel := gpio.Level(!tt.cfg.ActiveLow)
				flashes, share := watchPin(pin, onLevel)
				cancel()
				if err := <-done; err != nil {
					t.Errorf("Run after cancel: got %v, want nil", err)
				}
				if flashes != tt.wantFlashes || share < tt.minOn || share > tt.maxOn {
					t.Errorf("got %d flashes, on %.2f of the time; want %d, on %.2f to %.2f",
						flashes, share, tt.wantFlashes, tt.minOn, tt.maxOn)
				}
				if got := pin.Read(); got == onLevel {
					t.Errorf("pin after Run: got %v, want off", got)
				}
			})
		})
	}
}

func TestIndicatorShowConcurrent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ind := NewIndicator("led", &gpiotest.Pin{N: "GPIO22"}, IndicatorConfig{})
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- ind.Run(ctx) }()
		finished := make(chan struct{})
		for range 4 {
			go func() {
				for range 100 {
					ind.Show(devices.PatternRegistered)
					ind.Show(devices.PatternFault)
				}
				finished <- struct{}{}
			}()
		}
		for range 4 {
			<-finished
		}
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run after cancel: got %v, want nil", err)
		}
	})
}
