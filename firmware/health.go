package firmware

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"kioskd/cloudlink"
	"kioskd/kiosk"
	"kioskd/kiosk/journal"
	"kioskd/kiosk/screen"
)

// health tracks whether the alarm path works: journal writable, controller
// loop turning, inputs readable. Broker reachability is reported beside it,
// never as ill health: a kiosk that journals presses while offline is healthy.
type health struct {
	mu         sync.Mutex
	journalErr error
	journalAt  time.Time
	inputs     map[string]error
}

// journalHung is how long the journal check may go without finishing one
// write (it writes every 10 s) before the journal counts as hung.
const journalHung = 30 * time.Second

func newHealth() *health { return &health{inputs: map[string]error{}} }

// watchJournal writes to the journal every few seconds to know it still can;
// the write also moves the persisted clock floor forward.
// Run calls checkJournal once itself before anything reports health, so
// that the first heartbeat and /healthz never report "not checked yet".
func (h *health) watchJournal(ctx context.Context, j *journal.Journal, clock *kiosk.Clock) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(10 * time.Second):
		}
		h.checkJournal(j, clock)
	}
}

// checkJournal writes to the journal once and notes how it went.
func (h *health) checkJournal(j *journal.Journal, clock *kiosk.Clock) {
	err := j.Touch(clock.Now())
	h.mu.Lock()
	h.journalErr, h.journalAt = err, time.Now()
	h.mu.Unlock()
}

func (h *health) setInput(name string, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.inputs[name] = err
}

func (h *health) report(ctrl *kiosk.Controller, link *cloudlink.Link) screen.Health {
	details, alarmPath := h.check(ctrl)
	rec := ctrl.State().Recovery
	return screen.Health{AlarmPath: alarmPath, Details: details, Link: link.Status(),
		Status: status(alarmPath, rec), Recovery: rec}
}

// alarmPath is nil while presses are journaled and acted on; the watchdog,
// the heartbeat and the self-test ask it. It needs no link: the platform
// being away is not ill health.
func (h *health) alarmPath(ctrl *kiosk.Controller) error {
	_, err := h.check(ctrl)
	return err
}

// check is each part's state, and the alarm path's problems joined.
func (h *health) check(ctrl *kiosk.Controller) (details map[string]string, alarmPath error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	details = map[string]string{"journal": "ok", "controller": "ok"}
	var problems []error
	note := func(part string, err error) {
		if err != nil {
			details[part] = err.Error()
			problems = append(problems, fmt.Errorf("%s: %w", part, err))
		}
	}
	note("journal", h.journalErr)
	if h.journalAt.IsZero() {
		note("journal", errors.New("not checked yet"))
	} else if age := time.Since(h.journalAt); age > journalHung {
		// A write that never returns (a dead disk) leaves no error behind.
		note("journal", fmt.Errorf("no write check finished for %s: a write hangs", age.Round(time.Second)))
	}
	note("controller", ctrl.Alive())
	for name, err := range h.inputs {
		details["input:"+name] = "ok"
		note("input:"+name, err)
	}
	return details, errors.Join(problems...)
}
