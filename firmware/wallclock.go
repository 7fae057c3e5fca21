package firmware

import (
	"fmt"
	"os"
	"time"
)

// WallOffsetEnv names an environment variable for fault tests only: a Go
// duration added to the system clock as kioskd sees it ("-493000h" puts the
// box in 1970). A clock so offset is never reported as synchronised.
const WallOffsetEnv = "KIOSKD_WALL_OFFSET"

// wallClock returns the wall clock kioskd reads and whether it may be trusted
// when the kernel says it is synchronised.
func wallClock() (wall func() time.Time, synced func() bool, err error) {
	v := os.Getenv(WallOffsetEnv)
	if v == "" {
		return time.Now, clockSynced, nil
	}
	offset, err := time.ParseDuration(v)
	if err != nil {
		return nil, nil, fmt.Errorf("%s=%q: %w", WallOffsetEnv, v, err)
	}
	return func() time.Time { return time.Now().Add(offset) }, func() bool { return false }, nil
}
