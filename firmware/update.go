package firmware

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"kioskd/cloudlink"
	"kioskd/cloudlink/contract"
	"kioskd/devices"
	"kioskd/firmware/config"
	"kioskd/firmware/update"
	"kioskd/kiosk"
	"kioskd/kiosk/journal"
)

// The upkeep of the box: scheduled and commanded self-tests (selftest.go),
// and over-the-air updates (this file; the A/B slots and the launcher are
// in firmware/update, whose package doc explains the design).

// ErrRestart is returned by Run when kioskd must be started again into
// another binary; main exits with update.ExitRestart.
var ErrRestart = errors.New("restart into another binary")

// EnvSlot is set by the launcher (`kioskd launch`) for the binary it
// runs: a, b or packaged. Without it kioskd cannot switch binaries.
const EnvSlot = "KIOSKD_SLOT"

// upkeep owns self-tests and updates. Commands reach it through the table (routes.go);
// Run does the work.
type upkeep struct {
	cfg      *config.Config
	slots    update.Slots
	slot     string // EnvSlot; "" when kioskd was not started by the launcher
	keys     []ed25519.PublicKey
	tester   *selfTester
	ctrl     *kiosk.Controller
	clock    *kiosk.Clock
	journal  *journal.Journal
	online   func() bool // the platform link is up; set by Run
	log      *slog.Logger
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

// newUpkeep reads the release keys and builds the upkeep; Run starts it.
func (d *Daemon) newUpkeep(j *journal.Journal, ctrl *kiosk.Controller, clock *kiosk.Clock) (*upkeep, error) {
	keys, err := loadCommandKeys(config.Commands{PublicKeyFiles: d.cfg.Update.PublicKeyFiles})
	if err != nil {
		return nil, fmt.Errorf("update.%w", err)
	}
	tester := &selfTester{
		ctrl: ctrl, journal: j, reserve: d.cfg.Journal.Reserve.Bytes, indicators: d.lamps(),
		restore: func() { d.showPattern(kiosk.Pattern(ctrl.State())) },
		cameras: func() []contract.CameraStatus {
			if d.cams == nil {
				return nil
			}
			return d.cams.Statuses()
		},
	}
	return &upkeep{
		cfg: d.cfg, slots: update.Slots{Dir: filepath.Join(d.cfg.Kiosk.StateDir, "slots")},
		slot: os.Getenv(EnvSlot), keys: keys, tester: tester, ctrl: ctrl, clock: clock, journal: j,
		log: d.log.With("part", "upkeep"), tests: make(chan string, 1), updates: make(chan updateJob, 1),
		restart: make(chan struct{}), online: func() bool { return false },
	}, nil
}

// lamps are the indicators a self-test lights: the LEDs. Relays drive
// strobes and sounders, which a daily test must not set off.
func (d *Daemon) lamps() []devices.Indicator {
	var out []devices.Indicator
	for _, ind := range d.devices.Indicators {
		for _, c := range d.cfg.Indicators {
			if c.Name == ind.Name() && c.Kind == "led" {
				out = append(out, ind)
			}
		}
	}
	return out
}

// Run reports how the last update ended, finishes a trial, then serves
// self-tests and updates until ctx is done. It returns ErrRestart when an
// update was installed or rolled back.
func (u *upkeep) Run(ctx context.Context, link *cloudlink.Link, alarmPath func() error) error {
	return u.run(ctx, func() bool { return link.Status().Connected }, alarmPath)
}

func (u *upkeep) run(ctx context.Context, online func() bool, alarmPath func() error) error {
	u.online, u.tester.alarmPath = online, alarmPath
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

// wantSelfTest asks Run for a self-test; false if one is already waiting.
func (u *upkeep) wantSelfTest(trigger string) bool {
	select {
	case u.tests <- trigger:
		return true
	default:
		return false
	}
}

// selfTest runs a self-test and journals its result.
func (u *upkeep) selfTest(ctx context.Context, trigger string, needAck bool, ackWithin time.Duration) contract.SelfTest {
	res := u.tester.run(ctx, trigger, needAck, ackWithin)
	u.last.Store(&res)
	u.log.Info("self-test done", "ok", res.OK, "trigger", trigger, "note", res.Note)
	_, err := u.ctrl.Submit(ctx, kiosk.SelfTestDone{Passed: res.OK, Failed: failedChecks(res), Report: res})
	if err != nil && ctx.Err() == nil {
		u.log.Error("self-test result not journaled", "err", err)
	}
	return res
}

// lastSelfTest is the heartbeat's last_self_test.
func (u *upkeep) lastSelfTest() *contract.SelfTest {
	if u == nil {
		return nil
	}
	return u.last.Load()
}

// news journals one step of an update.
func (u *upkeep) news(ctx context.Context, event string, data map[string]any) {
	if _, err := u.ctrl.Submit(ctx, kiosk.UpdateNews{Event: event, Data: data}); err != nil {
		u.log.Error("update event not journaled", "event", event, "err", err)
	}
}

// reject journals update.rejected and returns the reply error for it.
func (u *upkeep) reject(ctx context.Context, cmd string, a contract.UpdateArgs, reason, detail string) *contract.ReplyError {
	u.log.Warn("update refused", "command", cmd, "version", a.Version, "reason", reason, "detail", detail)
	u.news(ctx, kiosk.EvUpdateRejected, map[string]any{"command": cmd, "version": a.Version, "reason": reason, "detail": detail})
	return &contract.ReplyError{Code: contract.ErrRejected, Message: reason + ": " + detail}
}
