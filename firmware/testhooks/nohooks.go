//go:build !kioskd_testhooks

package testhooks

import (
	"log/slog"
	"time"

	"kioskd/kiosk"
)

// CrashAtStart never fails in a build without the hooks.
func CrashAtStart() error { return nil }

// WallClock returns now and synced unchanged in a build without the hooks.
func WallClock(now func() time.Time, synced func() bool) (func() time.Time, func() bool, error) {
	return now, synced, nil
}

// StallController does nothing in a build without the hooks.
func StallController(*kiosk.Controller, *slog.Logger) error { return nil }
