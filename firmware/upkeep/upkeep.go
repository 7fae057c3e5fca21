// Package upkeep keeps the post tested and up to date: scheduled and
// commanded self-tests (selftest.go), and over-the-air updates: accept,
// download and verify, install into the other A/B slot (install.go), and
// the new version's trial after the restart (trial.go). The slots and the
// launcher that picks one are in firmware/update, whose package doc
// explains the design.
//
// New builds an Upkeep from everything it needs; Run serves it. Commands
// reach it through SelfTestCommand, UpdateCommand and UpdateBadArgs, with
// arguments already decoded and checked by the dispatcher.
package upkeep

import (
	"context"
	"crypto/ed25519"
	"errors"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"kioskd/cloudlink/contract"
	"kioskd/devices"
	"kioskd/firmware/config"
	"kioskd/firmware/update"
	"kioskd/kiosk"
	"kioskd/kiosk/journal"
)

// ErrRestart is returned by Run when kioskd must be started again into
// another binary; main exits with update.ExitRestart.
var ErrRestart = errors.New("restart into another binary")

// EnvSlot is set by the launcher (`kioskd launch`) for the binary it
// runs: a, b or packaged. Without it kioskd cannot switch binaries.
const EnvSlot = "KIOSKD_SLOT"

// Config is everything the upkeep needs, built before it.
type Config struct {
	Version     string              // the running kioskd's version
	Slot        string              // EnvSlot as launched; "" when kioskd was not started by the launcher
	StateDir    string              // kiosk.state_dir: the slots and the downloads live there
	SelfTest    config.SelfTest     // the schedule and the test call's ack deadline
	Update      config.Update       // quiet_after, trial_deadline, download_attempts
	ReleaseKeys []ed25519.PublicKey // update.public_key_files, read
	Reserve     int64               // the journal's reserve: the disk check wants more free

	Controller *kiosk.Controller
	Clock      *kiosk.Clock
	Journal    *journal.Journal
	Lamps      []devices.Indicator            // the LEDs a self-test lights; never the relays
	ShowState  func()                         // shows the current state on the indicators again
	Cameras    func() []contract.CameraStatus // every camera's status now; nil when there are none
	AlarmPath  func() error                   // nil while presses are journaled and acted on
	Online     func() bool                    // the platform link is up
	Log        *slog.Logger
}

// Upkeep owns self-tests and updates. Commands reach it through its
// command methods; Run does the work.
type Upkeep struct {
	cfg      Config
	slots    update.Slots
	tester   *selfTester
	tests    chan string    // a self-test wanted, by trigger
	updates  chan updateJob // an accepted update command
	updating atomic.Bool    // an update is under way, until installed or given up
	last     atomic.Pointer[contract.SelfTest]
	restart  chan struct{} // closed when an update wants the restart
	once     sync.Once
}

// updateJob is an accepted update command.
type updateJob struct {
	cmd  string
	args contract.UpdateArgs
}

// New builds the upkeep without I/O; Run starts it.
func New(cfg Config) *Upkeep {
	if cfg.Online == nil {
		cfg.Online = func() bool { return false }
	}
	if cfg.Cameras == nil {
		cfg.Cameras = func() []contract.CameraStatus { return nil }
	}
	tester := &selfTester{
		version: cfg.Version, ctrl: cfg.Controller, journal: cfg.Journal, reserve: cfg.Reserve,
		alarmPath: cfg.AlarmPath, indicators: cfg.Lamps, restore: cfg.ShowState, cameras: cfg.Cameras,
	}
	return &Upkeep{
		cfg: cfg, slots: update.Slots{Dir: filepath.Join(cfg.StateDir, "slots")}, tester: tester,
		tests: make(chan string, 1), updates: make(chan updateJob, 1), restart: make(chan struct{}),
	}
}

// Run reports how the last update ended, finishes a trial, then serves
// self-tests and updates until ctx is done. It returns ErrRestart when an
// update was installed or rolled back.
func (u *Upkeep) Run(ctx context.Context) error {
	u.reportEnds(ctx)
	if err := u.finishTrial(ctx); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	defer wg.Wait()
	schedule := time.NewTicker(u.cfg.SelfTest.Every.Duration)
	defer schedule.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-u.restart:
			return ErrRestart
		case <-schedule.C:
			u.wantSelfTest("schedule")
		case trigger := <-u.tests:
			u.selfTest(ctx, trigger, true, u.cfg.SelfTest.AckWithin.Duration)
		case job := <-u.updates:
			wg.Add(1)
			go func() { defer wg.Done(); u.runUpdate(ctx, job) }()
		}
	}
}

// SelfTestCommand is the self_test command: a self-test is queued for Run.
func (u *Upkeep) SelfTestCommand(ctx context.Context, a contract.SelfTestArgs) *contract.ReplyError {
	if !u.wantSelfTest("command") {
		return &contract.ReplyError{Code: contract.ErrRejected, Message: "a self-test is already waiting to run"}
	}
	return nil
}

// UpdateCommand is the update command: refused now with update.rejected
// when the command alone says why, else accepted and handed to Run.
func (u *Upkeep) UpdateCommand(ctx context.Context, cmdID string, a contract.UpdateArgs) *contract.ReplyError {
	return u.accept(ctx, cmdID, a)
}

// UpdateBadArgs answers an update command whose args did not decode or
// broke a limit: journaled as update.rejected without the args (a text
// over its limit is not kept) and answered rejected.
func (u *Upkeep) UpdateBadArgs(ctx context.Context, cmdID string, err error) *contract.ReplyError {
	return u.reject(ctx, cmdID, contract.UpdateArgs{}, contract.UpdateBadArgs, err.Error())
}

// wantSelfTest asks Run for a self-test; false if one is already waiting.
func (u *Upkeep) wantSelfTest(trigger string) bool {
	select {
	case u.tests <- trigger:
		return true
	default:
		return false
	}
}

// selfTest runs a self-test and journals its result.
func (u *Upkeep) selfTest(ctx context.Context, trigger string, needAck bool, ackWithin time.Duration) contract.SelfTest {
	res := u.tester.run(ctx, trigger, needAck, ackWithin)
	u.last.Store(&res)
	u.cfg.Log.Info("self-test done", "ok", res.OK, "trigger", trigger, "note", res.Note)
	_, err := u.cfg.Controller.Submit(ctx, kiosk.SelfTestDone{Passed: res.OK, Failed: failedChecks(res), Report: res})
	if err != nil && ctx.Err() == nil {
		u.cfg.Log.Error("self-test result not journaled", "err", err)
	}
	return res
}

// LastSelfTest is the heartbeat's last_self_test: nil before the first
// self-test since the start, or on a nil Upkeep.
func (u *Upkeep) LastSelfTest() *contract.SelfTest {
	if u == nil {
		return nil
	}
	return u.last.Load()
}

// news journals one step of an update.
func (u *Upkeep) news(ctx context.Context, event string, data map[string]any) {
	if _, err := u.cfg.Controller.Submit(ctx, kiosk.UpdateNews{Event: event, Data: data}); err != nil {
		u.cfg.Log.Error("update event not journaled", "event", event, "err", err)
	}
}

// reject journals update.rejected and returns the reply error for it.
func (u *Upkeep) reject(ctx context.Context, cmd string, a contract.UpdateArgs, reason, detail string) *contract.ReplyError {
	u.cfg.Log.Warn("update refused", "command", cmd, "version", a.Version, "reason", reason, "detail", detail)
	u.news(ctx, kiosk.EvUpdateRejected, map[string]any{"command": cmd, "version": a.Version, "reason": reason, "detail": detail})
	return &contract.ReplyError{Code: contract.ErrRejected, Message: reason + ": " + detail}
}

// sleep waits for d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d): // collected once it fires or is unreachable (Go 1.23)
	}
}
