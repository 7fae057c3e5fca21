package firmware

import (
	"fmt"
	"os"
	"slices"
	"time"

	"kioskd/kiosk"
	"kioskd/kiosk/journal"
)

// StallControllerEnv names an environment variable for the watchdog test
// only: a Go duration for which the controller's loop is held, from inside
// the loop, right after it journals the first press. The loop really stops
// turning, as it would behind a hung listener or a deadlock, while every
// other goroutine runs on; so what the watchdog does then is what it would
// do in the field. Never set it on a box.
const StallControllerEnv = "KIOSKD_TEST_STALL_CONTROLLER"

// armControllerStall installs the stall when StallControllerEnv is set.
func (d *Daemon) armControllerStall(ctrl *kiosk.Controller) error {
	v := os.Getenv(StallControllerEnv)
	if v == "" {
		return nil
	}
	stall, err := time.ParseDuration(v)
	if err != nil || stall <= 0 {
		return fmt.Errorf("%s=%q: want a positive Go duration", StallControllerEnv, v)
	}
	d.log.Warn("TEST HOOK ARMED: the controller loop will stall after the first press", "env", StallControllerEnv, "for", stall)
	stalled := false // read and written only on the controller's goroutine
	ctrl.OnCommit(func(events []journal.Event, _ kiosk.State) {
		isPress := func(ev journal.Event) bool { return ev.Type == kiosk.EvRegistered }
		if stalled || !slices.ContainsFunc(events, isPress) {
			return
		}
		stalled = true
		d.log.Warn("TEST HOOK: stalling the controller loop", "for", stall)
		time.Sleep(stall)
		d.log.Warn("TEST HOOK: controller loop released")
	})
	return nil
}
