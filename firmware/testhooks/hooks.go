//go:build kioskd_testhooks

package testhooks

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"time"

	"kioskd/kiosk"
	"kioskd/kiosk/journal"
)

// crashAtStart is set by -ldflags "-X" (CrashAtStartVar).
var crashAtStart string

// CrashAtStart fails when the build was made to crash at start.
func CrashAtStart() error {
	if crashAtStart == "" {
		return nil
	}
	return errors.New("TEST BUILD (testhooks.crashAtStart): crashing at start")
}

// WallClock offsets now by $KIOSKD_WALL_OFFSET when it is set; such a clock
// is never synchronised. Otherwise it returns now and synced unchanged.
func WallClock(now func() time.Time, synced func() bool) (func() time.Time, func() bool, error) {
	v := os.Getenv(WallOffsetEnv)
	if v == "" {
		return now, synced, nil
	}
	offset, err := time.ParseDuration(v)
	if err != nil {
		return nil, nil, fmt.Errorf("%s=%q: %w", WallOffsetEnv, v, err)
	}
	return func() time.Time { return now().Add(offset) }, func() bool { return false }, nil
}

// StallController installs the controller stall when
// $KIOSKD_TEST_STALL_CONTROLLER is set.
func StallController(ctrl *kiosk.Controller, log *slog.Logger) error {
	v := os.Getenv(StallControllerEnv)
	if v == "" {
		return nil
	}
	stall, err := time.ParseDuration(v)
	if err != nil || stall <= 0 {
		return fmt.Errorf("%s=%q: want a positive Go duration", StallControllerEnv, v)
	}
	log.Warn("TEST HOOK ARMED: the controller loop will stall after the first press", "env", StallControllerEnv, "for", stall)
	ctrl.OnCommit(stallAfterFirstPress(stall, log))
	return nil
}

// stallAfterFirstPress is a commit listener: it runs on the controller's
// own goroutine, so sleeping in it holds the loop.
func stallAfterFirstPress(stall time.Duration, log *slog.Logger) func([]journal.Event, kiosk.State) {
	stalled := false // read and written only on the controller's goroutine
	return func(events []journal.Event, _ kiosk.State) {
		isPress := func(ev journal.Event) bool { return ev.Type == kiosk.EvRegistered }
		if stalled || !slices.ContainsFunc(events, isPress) {
			return
		}
		stalled = true
		log.Warn("TEST HOOK: stalling the controller loop", "for", stall)
		time.Sleep(stall)
		log.Warn("TEST HOOK: controller loop released")
	}
}
