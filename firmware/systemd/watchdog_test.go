package systemd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// fakeSystemd records what a watchdog sends, with the (fake) time it came.
type fakeSystemd struct {
	start time.Time
	mu    sync.Mutex
	got   []string
}

func (f *fakeSystemd) send(state string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	at := time.Since(f.start).Round(10 * time.Millisecond)
	f.got = append(f.got, fmt.Sprintf("%v %s", at, strings.ReplaceAll(state, "\n", " | ")))
	return nil
}

func (f *fakeSystemd) messages() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.got)
}

// alarmPathSwitch is a health report the test sets.
type alarmPathSwitch struct{ err atomic.Pointer[error] }

func (s *alarmPathSwitch) set(err error) { s.err.Store(&err) }
func (s *alarmPathSwitch) get() error {
	if p := s.err.Load(); p != nil {
		return *p
	}
	return nil
}

// runWatchdog runs a watchdog with ping period every in a synctest bubble,
// the alarm path starting as initial (nil: healthy); drive moves the alarm
// path and the link while fake time passes. It then stops the watchdog and
// returns what it sent, each message with its time.
func runWatchdog(t *testing.T, every time.Duration, initial error, drive func(path *alarmPathSwitch, linkUp *atomic.Bool)) []string {
	var got []string
	synctest.Test(t, func(t *testing.T) {
		sd := &fakeSystemd{start: time.Now()}
		var path alarmPathSwitch
		path.set(initial)
		var linkUp atomic.Bool
		w := &reporter{send: sd.send, every: every,
			Config: Config{AlarmPath: path.get, Online: linkUp.Load, Log: slog.New(slog.DiscardHandler)}}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- w.run(ctx) }()
		drive(&path, &linkUp)
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run = %v, want nil", err)
		}
		got = sd.messages()
	})
	return got
}

func checkSent(t *testing.T, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("sent:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

const (
	offline = "STATUS=alarm path ok; platform offline, presses are journaled and sent when it is back"
	online  = "STATUS=alarm path ok; platform online"
	broken  = "STATUS=ALARM PATH BROKEN, watchdog pings withheld: controller: controller loop stalled for 6s"
)

// TestWatchdogPingsFollowAlarmPathNotBroker: pings every period while the
// alarm path works, whatever the platform link does; none while it is
// broken; again once it mends; STOPPING at the end.
func TestWatchdogPingsFollowAlarmPathNotBroker(t *testing.T) {
	got := runWatchdog(t, time.Second, nil, func(path *alarmPathSwitch, linkUp *atomic.Bool) {
		time.Sleep(1500 * time.Millisecond)
		linkUp.Store(true)
		time.Sleep(time.Second)
		linkUp.Store(false) // the broker goes away: pings go on
		time.Sleep(time.Second)
		path.set(errors.New("controller: controller loop stalled for 6s"))
		time.Sleep(3 * time.Second)
		path.set(nil)
		time.Sleep(2 * time.Second)
	})
	checkSent(t, got, []string{
		"0s READY=1 | " + offline,
		"1s WATCHDOG=1",
		"2s WATCHDOG=1 | " + online,
		"3s WATCHDOG=1 | " + offline,
		"4s " + broken,
		"7s WATCHDOG=1 | " + offline,
		"8s WATCHDOG=1",
		"8.5s STOPPING=1 | STATUS=stopping",
	})
}

// TestWatchdogPingFollowsPassingStall: with a long ping period, a ping
// withheld by a short stall is sent as soon as the alarm path works again,
// not a whole period later, so systemd's deadline (two periods) is kept.
func TestWatchdogPingFollowsPassingStall(t *testing.T) {
	got := runWatchdog(t, 4*time.Second, nil, func(path *alarmPathSwitch, _ *atomic.Bool) {
		time.Sleep(3500 * time.Millisecond)
		path.set(errors.New("controller: controller loop stalled for 6s"))
		time.Sleep(time.Second)
		path.set(nil)
		time.Sleep(5 * time.Second)
	})
	checkSent(t, got, []string{
		"0s READY=1 | " + offline,
		"4s " + broken,
		"5s WATCHDOG=1 | " + offline,
		"9s WATCHDOG=1",
		"9.5s STOPPING=1 | STATUS=stopping",
	})
}

// TestWatchdogReadyOnlyOnceAlarmPathWorks: no READY while the alarm path is
// not up yet; without WATCHDOG_USEC, no pings, only READY and STATUS.
func TestWatchdogReadyOnlyOnceAlarmPathWorks(t *testing.T) {
	got := runWatchdog(t, 0, errors.New("journal: not checked yet"), func(path *alarmPathSwitch, linkUp *atomic.Bool) {
		time.Sleep(350 * time.Millisecond)
		path.set(nil)
		time.Sleep(4 * time.Second)
		linkUp.Store(true)
		time.Sleep(2 * time.Second)
	})
	checkSent(t, got, []string{
		"0s STATUS=starting: journal: not checked yet",
		"400ms READY=1 | " + offline,
		"4.4s " + online,
		"6.35s STOPPING=1 | STATUS=stopping",
	})
}
