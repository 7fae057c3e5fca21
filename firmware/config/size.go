package config

import (
	"fmt"
	"strconv"
	"strings"
)

// Size is a byte count written in TOML as a string with a binary unit:
// "512KiB", "8MiB", "1GiB". It must be positive.
type Size struct{ Bytes int64 }

var sizeUnits = []struct {
	suffix string
	bytes  int64
}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}}

// UnmarshalText parses a size; the error is the user-facing hint.
func (s *Size) UnmarshalText(b []byte) error {
	text := string(b)
	for _, u := range sizeUnits {
		num, ok := strings.CutSuffix(text, u.suffix)
		if !ok {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSpace(num), 10, 64)
		if err != nil || n <= 0 || n > (1<<62)/u.bytes {
			break
		}
		s.Bytes = n * u.bytes
		return nil
	}
	return fmt.Errorf("%q is not a size; write a whole number and a unit, like \"512KiB\", \"64MiB\" or \"1GiB\"", text)
}

// MarshalText writes the size in the largest unit that divides it.
func (s Size) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

func (s Size) String() string {
	for _, u := range sizeUnits {
		if s.Bytes%u.bytes == 0 {
			return strconv.FormatInt(s.Bytes/u.bytes, 10) + u.suffix
		}
	}
	return strconv.FormatInt(s.Bytes>>10, 10) + "KiB"
}
