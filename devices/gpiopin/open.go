package gpiopin

import (
	"fmt"

	"periph.io/x/conn/v3/driver/driverreg"
	"periph.io/x/conn/v3/gpio"
	"periph.io/x/host/v3/gpioioctl"
)

// OpenPin returns the GPIO line called name (as gpioinfo lists it, e.g.
// "GPIO17") from the Linux GPIO character devices (/dev/gpiochip*).
//
// Only the gpioioctl driver is loaded, not host.Init's full set: that would
// also register the sysfs and memory-mapped SoC drivers under the same names,
// and gpioreg.ByName could then hand back a pin whose edges go through sysfs,
// which fails on current kernels (periph/host#62).
func OpenPin(name string) (gpio.PinIO, error) {
	if _, err := driverreg.Init(); err != nil {
		return nil, fmt.Errorf("gpiopin: open pin %q: load GPIO driver: %w", name, err)
	}
	if len(gpioioctl.Chips) == 0 {
		return nil, fmt.Errorf("gpiopin: open pin %q: no GPIO character device (/dev/gpiochip*) found", name)
	}
	for _, chip := range gpioioctl.Chips {
		if line := chip.ByName(name); line != nil {
			return line, nil
		}
	}
	return nil, fmt.Errorf("gpiopin: open pin %q: no GPIO line of that name on %d chip(s)", name, len(gpioioctl.Chips))
}
