// Package systemd tells systemd how kioskd is (sd_notify(3)): READY=1 once
// the alarm path works, WATCHDOG=1 pings while it still works, a one-line
// STATUS=, and STOPPING=1 on the way out. Without $NOTIFY_SOCKET (not
// started by systemd) it does nothing.
//
// The sd_notify side is hand-written (sdnotify.go) rather than taken from
// github.com/coreos/go-systemd/v22/daemon: that package writes without a
// deadline, so a stuck notify socket would hang the watchdog loop and the
// way out, and it accepts any $NOTIFY_SOCKET and fails only at the first
// send, where this one refuses what it cannot reach at the start.
package systemd

import (
	"context"
	"log/slog"
	"strings"
	"time"
)

// Config is what the watchdog reports on.
type Config struct {
	AlarmPath func() error // nil while presses are journaled and acted on
	Online    func() bool  // the platform link is up; for STATUS only
	Log       *slog.Logger
}

// Watchdog tells systemd how the alarm path is.
//
// Pings depend on the alarm path only: the journal takes writes, the
// controller loop turns, the inputs are read (the health report). A broken
// alarm path withholds them, so systemd kills and restarts kioskd after
// WatchdogSec. The platform link shows in STATUS but never withholds a ping:
// a kiosk that journals presses while the broker is away is doing its job,
// and restarting it would not bring the broker back.
type Watchdog struct {
	cfg Config
}

// New builds the watchdog without I/O; Run reads what systemd set.
func New(cfg Config) *Watchdog { return &Watchdog{cfg: cfg} }

// Run reports to systemd until ctx is done; without $NOTIFY_SOCKET (not
// started by systemd) it only waits. A cancelled ctx is not an error.
func (w *Watchdog) Run(ctx context.Context) error {
	n, every, err := systemdFromEnv()
	if err != nil {
		return err
	}
	if n == nil {
		<-ctx.Done()
		return nil
	}
	r := &reporter{Config: w.cfg, send: n.send, every: every}
	return r.run(ctx)
}

// reporter is one run of the watchdog against one notify socket.
type reporter struct {
	Config
	send  func(state string) error // one sd_notify message
	every time.Duration            // ping period; 0 when systemd wants no pings
}

const (
	readyPoll  = 100 * time.Millisecond // how often the alarm path is checked before READY
	checkEvery = time.Second            // and after, at least
)

// run checks the alarm path and notifies systemd until ctx is done. It
// checks at least every second, so a ping withheld for a passing stall
// follows as soon as the path works again, well before systemd's deadline
// of two ping periods.
func (w *reporter) run(ctx context.Context) error {
	ready, healthy, status, sendOK := false, false, "", true
	var lastPing time.Time
	for {
		err := w.AlarmPath()
		w.logChange(ready, healthy, err)
		healthy = err == nil
		var msg []string
		switch {
		case healthy && !ready:
			msg, ready, lastPing = append(msg, "READY=1"), true, time.Now()
		case healthy && w.every > 0 && time.Since(lastPing) >= w.every:
			msg, lastPing = append(msg, "WATCHDOG=1"), time.Now()
		}
		if s := w.status(ready, err); s != status {
			msg, status = append(msg, "STATUS="+s), s
		}
		if len(msg) > 0 {
			sendOK = w.notify(strings.Join(msg, "\n"), sendOK)
		}
		select {
		case <-ctx.Done():
		case <-time.After(w.wait(ready)):
		}
		if ctx.Err() != nil {
			w.notify("STOPPING=1\nSTATUS=stopping", sendOK)
			return nil
		}
	}
}

func (w *reporter) wait(ready bool) time.Duration {
	switch {
	case !ready:
		return readyPoll
	case w.every > 0:
		return min(w.every, checkEvery)
	}
	return checkEvery
}

// status is the one line `systemctl status kioskd` shows.
func (w *reporter) status(ready bool, alarmPath error) string {
	switch {
	case !ready:
		return "starting: " + alarmPath.Error()
	case alarmPath != nil:
		return "ALARM PATH BROKEN, watchdog pings withheld: " + oneLine(alarmPath)
	case w.Online():
		return "alarm path ok; platform online"
	}
	return "alarm path ok; platform offline, presses are journaled and sent when it is back"
}

func oneLine(err error) string { return strings.ReplaceAll(err.Error(), "\n", "; ") }

// logChange logs when the alarm path breaks or mends after READY.
func (w *reporter) logChange(ready, wasHealthy bool, err error) {
	switch {
	case !ready:
	case wasHealthy && err != nil:
		w.Log.Error("alarm path broken: watchdog pings withheld; systemd will restart kioskd unless it mends", "err", oneLine(err))
	case !wasHealthy && err == nil:
		w.Log.Info("alarm path works again: watchdog pings resumed")
	}
}

// notify sends msg, logging only the first of a run of failures; it
// returns whether the send worked.
func (w *reporter) notify(msg string, lastOK bool) bool {
	err := w.send(msg)
	if err != nil && lastOK {
		w.Log.Error("cannot notify systemd", "err", err)
	}
	return err == nil
}
