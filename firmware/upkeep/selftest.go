package upkeep

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"kioskd/cloudlink/contract"
	"kioskd/devices"
	"kioskd/kiosk"
	"kioskd/kiosk/journal"
)

// The self-test: the post checks, end to end, what a citizen relies on.
//
//   - test_call: a police call flagged test goes through the controller,
//     the journal and the link, and the platform must ack it within
//     selftest.ack_within. It is never joined with a real call, never
//     shown on the citizen screen or the lights, never urgent; the
//     self-test closes it (outcome "self_test") whatever happened.
//   - indicators: every LED shows a lamp test (steady on) for lampTest,
//     then the state's pattern again. Relays (strobes, sounders) are left
//     alone. There is no feedback from a lamp: this proves the drive path,
//     a person at the post sees the rest.
//   - cameras: every camera is online (frames within the last seconds).
//   - disk, journal, alarm_path: free space above the journal's reserve, a
//     journal write and its statistics, and the alarm path's health.
//
// A failure raises the self_test fault; a later pass clears it.

// lampTest is how long each indicator shows the lamp test.
const lampTest = 2 * time.Second

// selfTester runs self-tests; its fields are set once by New.
type selfTester struct {
	version    string // the running kioskd's, in the report
	ctrl       *kiosk.Controller
	journal    *journal.Journal
	reserve    int64
	alarmPath  func() error
	indicators []devices.Indicator // the LEDs
	restore    func()              // shows the current state on the indicators again
	cameras    func() []contract.CameraStatus
	// onlyCameras, when not nil, are the cameras the cameras check needs
	// (an update trial: those online before the update).
	onlyCameras []string
}

// run runs every check. Those that may need a moment after a start (the
// alarm path, the cameras, the platform's ack) wait for at most within.
// needAck false makes the test call's ack optional (an update trial
// started while the platform was unreachable).
func (t *selfTester) run(ctx context.Context, trigger string, needAck bool, within time.Duration) contract.SelfTest {
	start := time.Now()
	res := contract.SelfTest{Time: start.UTC(), Trigger: trigger, Version: t.version}
	lamps := make(chan contract.SelfTestCheck, 1)
	go func() { lamps <- t.checkIndicators(ctx) }()
	deadline := start.Add(within)
	res.Checks = append(res.Checks, t.checkJournal(), t.checkDisk(), t.checkAlarmPath(ctx, deadline),
		t.checkTestCall(ctx, needAck, within), t.checkCameras(ctx, deadline), <-lamps)
	var failed []string
	for _, c := range res.Checks {
		if c.Result == contract.CheckFailed {
			failed = append(failed, c.Name+": "+c.Detail)
		}
	}
	res.OK, res.Note = len(failed) == 0, strings.Join(failed, "; ")
	res.DurationMs = time.Since(start).Milliseconds()
	return res
}

// retryUntil calls try every 100 ms until it returns nil, ctx ends or the
// deadline passes; it returns try's last error.
func retryUntil(ctx context.Context, deadline time.Time, try func() error) error {
	for {
		err := try()
		if err == nil || ctx.Err() != nil || time.Now().After(deadline) {
			return err
		}
		sleep(ctx, 100*time.Millisecond)
	}
}

func check(name string, err error, okDetail string) contract.SelfTestCheck {
	if err != nil {
		return contract.SelfTestCheck{Name: name, Result: contract.CheckFailed, Detail: err.Error()}
	}
	return contract.SelfTestCheck{Name: name, Result: contract.CheckPassed, Detail: okDetail}
}

func (t *selfTester) checkJournal() contract.SelfTestCheck {
	if err := t.journal.Touch(time.Now()); err != nil {
		return check("journal", fmt.Errorf("write: %w", err), "")
	}
	st, err := t.journal.Stats()
	if err != nil {
		return check("journal", fmt.Errorf("stats: %w", err), "")
	}
	if st.OnReserve {
		return check("journal", fmt.Errorf("on its reserve: telemetry refused, %d bytes of %d used", st.FileBytes, st.MaxBytes), "")
	}
	return check("journal", nil, fmt.Sprintf("written; %d events waiting for the platform", st.PendingCritical+st.PendingTelemetry))
}

func (t *selfTester) checkDisk() contract.SelfTestCheck {
	st, err := t.journal.Stats()
	if err == nil && st.DiskFreeBytes < t.reserve {
		err = fmt.Errorf("%d bytes free, under the journal's reserve of %d", st.DiskFreeBytes, t.reserve)
	}
	if err != nil {
		return check("disk", err, "")
	}
	return check("disk", nil, fmt.Sprintf("%d MiB free", st.DiskFreeBytes>>20))
}

func (t *selfTester) checkAlarmPath(ctx context.Context, deadline time.Time) contract.SelfTestCheck {
	return check("alarm_path", retryUntil(ctx, deadline, t.alarmPath), "journal, controller and inputs healthy")
}

// checkCameras wants every camera online, or during an update trial those
// that were online before the update.
func (t *selfTester) checkCameras(ctx context.Context, deadline time.Time) contract.SelfTestCheck {
	if len(t.cameras()) == 0 {
		return contract.SelfTestCheck{Name: "cameras", Result: contract.CheckSkipped, Detail: "no cameras"}
	}
	var n int
	err := retryUntil(ctx, deadline, func() error {
		var bad []string
		n = 0
		for _, c := range t.cameras() {
			if t.onlyCameras != nil && !slices.Contains(t.onlyCameras, c.ID) {
				continue
			}
			n++
			if c.State != "online" {
				bad = append(bad, strings.TrimSpace(fmt.Sprintf("%s %s %s", c.ID, c.State, c.Problem)))
			}
		}
		if len(bad) > 0 {
			return fmt.Errorf("not producing frames: %s", strings.Join(bad, ", "))
		}
		return nil
	})
	return check("cameras", err, fmt.Sprintf("%d cameras producing frames", n))
}

// onlineCameras lists the cameras online now.
func (t *selfTester) onlineCameras() []string {
	ids := []string{}
	for _, c := range t.cameras() {
		if c.State == "online" {
			ids = append(ids, c.ID)
		}
	}
	return ids
}

func (t *selfTester) checkIndicators(ctx context.Context) contract.SelfTestCheck {
	if len(t.indicators) == 0 {
		return contract.SelfTestCheck{Name: "indicators", Result: contract.CheckSkipped, Detail: "no LEDs"}
	}
	for _, ind := range t.indicators {
		ind.Show(devices.PatternAccepted) // steady on
	}
	sleep(ctx, lampTest)
	t.restore()
	return check("indicators", nil, fmt.Sprintf("lamp test for %s on %d LEDs (relays are not switched)", lampTest, len(t.indicators)))
}

// checkTestCall makes a test call and waits for the platform's ack.
func (t *selfTester) checkTestCall(ctx context.Context, needAck bool, within time.Duration) contract.SelfTestCheck {
	const name = "test_call"
	start := time.Now()
	id, err := t.ctrl.Submit(ctx, kiosk.Press{Request: kiosk.Police, Source: "self-test", Test: true})
	if err != nil {
		return check(name, fmt.Errorf("not journaled: %w", err), "")
	}
	defer t.closeTestCall(id)
	if !needAck {
		return contract.SelfTestCheck{Name: name, Result: contract.CheckSkipped,
			Detail: "journaled as " + id + "; no ack required: the platform was unreachable before the update"}
	}
	deadline := time.NewTimer(within)
	defer deadline.Stop()
	poll := time.NewTicker(50 * time.Millisecond)
	defer poll.Stop()
	for {
		if in, ok := t.ctrl.State().Incidents[id]; ok && in.Delivered {
			return check(name, nil, fmt.Sprintf("%s acked by the platform in %s", id, time.Since(start).Round(time.Millisecond)))
		}
		select {
		case <-ctx.Done():
			return check(name, fmt.Errorf("stopped before the platform acked %s", id), "")
		case <-deadline.C:
			return check(name, fmt.Errorf("the platform did not ack %s within %s", id, within), "")
		case <-poll.C:
		}
	}
}

func (t *selfTester) closeTestCall(id string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	t.ctrl.Submit(ctx, kiosk.Close{Incident: id, By: "self-test", Outcome: "self_test"})
}

// failedChecks names the failed checks of a result, for the fault.
func failedChecks(r contract.SelfTest) string {
	var names []string
	for _, c := range r.Checks {
		if c.Result == contract.CheckFailed {
			names = append(names, c.Name)
		}
	}
	return strings.Join(names, ", ")
}
