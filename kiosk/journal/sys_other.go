//go:build !linux

package journal

import (
	"errors"
	"os"
	"time"
)

// lockShared is Linux only here; elsewhere the check before bbolt reads
// the file is skipped.
func lockShared(*os.File, time.Duration) error { return errors.ErrUnsupported }

// fallocate is Linux only here; elsewhere the reserve is kept by
// accounting alone.
func fallocate(*os.File, int64, int64) error { return errors.ErrUnsupported }

// diskFree is unknown outside Linux.
func diskFree(string) int64 { return -1 }
