package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Duration is a time.Duration written in TOML as a string such as "30ms",
// "3s" or "5m". It must be positive.
type Duration struct{ time.Duration }

// UnmarshalText parses a duration. The error is the user-facing hint, not a
// wrap of time's error, which reads poorly in a config message.
func (d *Duration) UnmarshalText(b []byte) error {
	s := string(b)
	if _, err := strconv.ParseFloat(s, 64); err == nil {
		return fmt.Errorf("%q has no unit; write it with one, like \"%sms\", \"%ss\" or \"%sm\"", s, s, s, s)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("%q is not a duration; write a number and a unit, like \"30ms\", \"3s\", \"5m\" or \"24h\"", s)
	}
	if v <= 0 {
		return fmt.Errorf("%q is not positive; leave the key out to get the default", s)
	}
	d.Duration = v
	return nil
}

// MarshalText writes the duration as String does.
func (d Duration) MarshalText() ([]byte, error) {
	return []byte(d.String()), nil
}

// String is time.Duration's form without the trailing zero units: "5m", not "5m0s".
func (d Duration) String() string {
	return human(d.Duration)
}

func human(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
