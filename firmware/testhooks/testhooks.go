// Package testhooks holds the switches that tests and hack/faults use to
// put a real kioskd where the field would only rarely take it: a stalled
// controller loop (the watchdog test), a wall clock in 1970 (the fault
// harness), a new version that dies at start (the update tests).
//
// They are compiled in only with -tags kioskd_testhooks (hooks.go). The
// release build (hack/pkg) does not set the tag and gets the no-ops of
// nohooks.go, so no environment variable or flag can reach them on a box;
// hack/pkg's TestReleaseHasNoTestHooks checks the built binary.
package testhooks

// Tag is the build tag that compiles the hooks in.
const Tag = "kioskd_testhooks"

// StallControllerEnv names an environment variable for the watchdog test
// only: a Go duration for which the controller's loop is held, from inside
// the loop, right after it journals the first press. The loop really stops
// turning, as it would behind a hung listener or a deadlock, while every
// other goroutine runs on; so what the watchdog does then is what it would
// do in the field.
const StallControllerEnv = "KIOSKD_TEST_STALL_CONTROLLER"

// WallOffsetEnv names an environment variable for fault tests only: a Go
// duration added to the system clock as kioskd sees it ("-493000h" puts the
// box in 1970). A clock so offset is never reported as synchronised.
const WallOffsetEnv = "KIOSKD_WALL_OFFSET"

// CrashAtStartVar is the string variable that -ldflags "-X VAR=yes" sets to
// build a kioskd that answers `kioskd version` but fails as soon as it is
// started as the daemon: a binary that passes every download check and then
// dies at start, as one built wrongly for the box would. It is a link-time
// switch, not an environment variable, so that only that one binary of an
// update test crashes, not the launcher that runs it.
const CrashAtStartVar = "kioskd/firmware/testhooks.crashAtStart"
