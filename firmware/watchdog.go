package firmware

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"kioskd/cloudlink"
	"kioskd/kiosk"
)

// watchdog tells systemd how the alarm path is: READY=1 once it works,
// WATCHDOG=1 every ping period while it still works, STATUS= whenever the
// one-line summary changes, STOPPING=1 on the way out.
//
// Pings depend on the alarm path only: the journal takes writes, the
// controller loop turns, the inputs are read (the health report). A broken
// alarm path withholds them, so systemd kills and restarts kioskd after
// WatchdogSec. The platform link shows in STATUS but never withholds a ping:
// a kiosk that journals presses while the broker is away is doing its job,
// and restarting it would not bring the broker back.
type watchdog struct {
	send      func(state string) error // one sd_notify message
	every     time.Duration            // ping period; 0 when systemd wants no pings
	alarmPath func() error             // nil while presses are journaled and acted on
	online    func() bool              // the platform link is up; for STATUS only
	log       *slog.Logger
}

const (
	readyPoll  = 100 * time.Millisecond // how often the alarm path is checked before READY
	checkEvery = time.Second            // and after, at least
)

// runWatchdog reports to systemd until ctx is done; without $NOTIFY_SOCKET
// (not started by systemd) it only waits.
func (d *Daemon) runWatchdog(ctx context.Context, ctrl *kiosk.Controller, link *cloudlink.Link) error {
	n, every, err := systemdFromEnv()
	if err != nil {
		return err
	}
	if n == nil {
		<-ctx.Done()
		return nil
	}
	w := &watchdog{
		send: n.send, every: every, log: d.log.With("part", "watchdog"),
		alarmPath: func() error { return d.health.report(ctrl, link).AlarmPath },
		online:    func() bool { return link.Status().Connected },
	}
	return w.Run(ctx)
}

// Run checks the alarm path and notifies systemd until ctx is done. A
// cancelled ctx is not an error. It checks at least every second, so a ping
// withheld for a passing stall follows as soon as the path works again, well
// before systemd's deadline of two ping periods.
func (w *watchdog) Run(ctx context.Context) error {
	ready, healthy, status, sendOK := false, false, "", true
	var lastPing time.Time
	for {
		err := w.alarmPath()
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
		sleep(ctx, w.wait(ready))
		if ctx.Err() != nil {
			w.notify("STOPPING=1\nSTATUS=stopping", sendOK)
			return nil
		}
	}
}

func (w *watchdog) wait(ready bool) time.Duration {
	switch {
	case !ready:
		return readyPoll
	case w.every > 0:
		return min(w.every, checkEvery)
	}
	return checkEvery
}

// status is the one line `systemctl status kioskd` shows.
func (w *watchdog) status(ready bool, alarmPath error) string {
	switch {
	case !ready:
		return "starting: " + alarmPath.Error()
	case alarmPath != nil:
		return "ALARM PATH BROKEN, watchdog pings withheld: " + oneLine(alarmPath)
	case w.online():
		return "alarm path ok; platform online"
	}
	return "alarm path ok; platform offline, presses are journaled and sent when it is back"
}

func oneLine(err error) string { return strings.ReplaceAll(err.Error(), "\n", "; ") }

// logChange logs when the alarm path breaks or mends after READY.
func (w *watchdog) logChange(ready, wasHealthy bool, err error) {
	switch {
	case !ready:
	case wasHealthy && err != nil:
		w.log.Error("alarm path broken: watchdog pings withheld; systemd will restart kioskd unless it mends", "err", oneLine(err))
	case !wasHealthy && err == nil:
		w.log.Info("alarm path works again: watchdog pings resumed")
	}
}

// notify sends msg, logging only the first of a run of failures; it
// returns whether the send worked.
func (w *watchdog) notify(msg string, lastOK bool) bool {
	err := w.send(msg)
	if err != nil && lastOK {
		w.log.Error("cannot notify systemd", "err", err)
	}
	return err == nil
}
