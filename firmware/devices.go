package firmware

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"kioskd/devices"
	"kioskd/devices/gpiopin"
	"kioskd/devices/sim"
	"kioskd/firmware/config"
	"kioskd/kiosk"
)

// RunConfig builds the devices the config names and runs the daemon.
func RunConfig(ctx context.Context, cfg *config.Config, log *slog.Logger) error {
	devs, err := BuildDevices(cfg)
	if err != nil {
		return err
	}
	return New(cfg, devs, log).Run(ctx)
}

// BuildDevices makes the buttons, tamper switch and indicators of the config:
// GPIO lines for driver "gpio", simulated devices for driver "sim".
func BuildDevices(cfg *config.Config) (Devices, error) {
	devs := Devices{Requests: map[string]kiosk.Request{}}
	for _, b := range cfg.Buttons {
		devs.Requests[b.Name] = kiosk.Request(b.Request)
	}
	if cfg.Devices.Driver == "sim" {
		return simDevices(cfg, devs), nil
	}
	return gpioDevices(cfg, devs)
}

func pressConfig(b config.Button) devices.PressConfig {
	return devices.PressConfig{Debounce: b.Debounce.Duration, LongPress: b.LongPress.Duration, StuckAfter: b.StuckAfter.Duration}
}

func simDevices(cfg *config.Config, devs Devices) Devices {
	buttons := map[string]*sim.Button{}
	for _, b := range cfg.Buttons {
		buttons[b.Name] = sim.NewButton(b.Name, pressConfig(b))
		devs.Inputs = append(devs.Inputs, buttons[b.Name])
	}
	var tamper *sim.Tamper
	if cfg.Tamper != nil {
		tamper = sim.NewTamper("tamper")
		devs.Inputs = append(devs.Inputs, tamper)
	}
	for _, ind := range cfg.Indicators {
		devs.Indicators = append(devs.Indicators, sim.NewIndicator(ind.Name))
	}
	devs.SimAPI = sim.Handler(buttons, tamper)
	return devs
}

func gpioDevices(cfg *config.Config, devs Devices) (Devices, error) {
	for i, b := range cfg.Buttons {
		pin, err := gpiopin.OpenPin(b.Pin)
		if err != nil {
			return devs, fmt.Errorf("buttons[%d].pin: %w", i, err)
		}
		devs.Inputs = append(devs.Inputs, gpiopin.NewButton(b.Name, pin, b.ActiveLow, pressConfig(b)))
	}
	if t := cfg.Tamper; t != nil {
		pin, err := gpiopin.OpenPin(t.Pin)
		if err != nil {
			return devs, fmt.Errorf("tamper.pin: %w", err)
		}
		devs.Inputs = append(devs.Inputs, gpiopin.NewTamper("tamper", pin, t.ActiveLow, 50*time.Millisecond))
	}
	for i, ind := range cfg.Indicators {
		pin, err := gpiopin.OpenPin(ind.Pin)
		if err != nil {
			return devs, fmt.Errorf("indicators[%d].pin: %w", i, err)
		}
		icfg := gpiopin.IndicatorConfig{Relay: ind.Kind == "relay"}
		devs.Indicators = append(devs.Indicators, gpiopin.NewIndicator(ind.Name, pin, icfg))
	}
	return devs, nil
}
