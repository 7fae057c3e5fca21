package main

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"kioskd/cloudlink"
	"kioskd/firmware/outbox"
	"kioskd/kiosk"
	"kioskd/kiosk/journal"
)

// simKiosk is one kiosk built from the product's parts the way
// firmware.Daemon builds them: a journal file, a controller, a cloud link,
// joined by the outbox (firmware/outbox) and linkKiosk. It has no devices and no HTTP server; presses are
// submitted to the controller as the daemon's input forwarder does.
type simKiosk struct {
	id      string
	dir     string
	journal *journal.Journal
	ctrl    *kiosk.Controller
	link    *cloudlink.Link

	mu      sync.Mutex // serialises presses, so a commit belongs to pressAt
	pressAt time.Time  // written under mu before Submit, read by the commit hook
	presses int
}

// kioskSettings are the link settings every simulated kiosk shares.
type kioskSettings struct {
	Broker     string
	Heartbeat  time.Duration
	AckTimeout time.Duration
	AckKey     ed25519.PublicKey // the consumer's: acks must be signed
}

// openKiosk opens the kiosk's journal in dir and builds its controller and
// link; nothing runs until run.
func openKiosk(dir, id string, set kioskSettings, book *ledger, log *slog.Logger) (*simKiosk, error) {
	log = log.With("kiosk", id)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("kiosk %s: %w", id, err)
	}
	j, err := journal.Open(filepath.Join(dir, "journal.db"), journal.Options{KioskID: id, Timeout: 2 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("kiosk %s: open journal: %w", id, err)
	}
	state, err := kiosk.Load(j)
	if err != nil {
		j.Close()
		return nil, fmt.Errorf("kiosk %s: %w", id, err)
	}
	clock := kiosk.NewClock(time.Now, j.ClockFloor(), func() bool { return true })
	k := &simKiosk{id: id, dir: dir, journal: j}
	k.ctrl = kiosk.New(kiosk.Rules{CallbackWithin: 5 * time.Minute, CloseWithin: 24 * time.Hour}, "fleet", j, clock, state, log)
	ob := outbox.New(j, k.ctrl, log)
	lk := &linkKiosk{Outbox: ob, journal: j, controller: k.ctrl, clock: clock, started: time.Now(), log: log}
	k.link = cloudlink.New(cloudlink.Config{
		Broker: set.Broker, KioskID: id, BootEpoch: j.BootEpoch(), Version: "fleet",
		HeartbeatEvery: set.Heartbeat, AckTimeout: set.AckTimeout, AckKeys: []ed25519.PublicKey{set.AckKey},
	}, ob, lk, log)
	k.ctrl.OnCommit(func(events []journal.Event, _ kiosk.State) {
		for _, ev := range events {
			if ev.Type == kiosk.EvRegistered || ev.Type == kiosk.EvPressedAgain {
				book.journaled(ev.ID, k.pressAt, time.Now())
			}
		}
		k.link.Notify() // after the ledger knows the alarm
	})
	return k, nil
}

// run runs the controller and the link until ctx is done.
func (k *simKiosk) run(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := k.ctrl.Run(ctx); err != nil {
			slog.Error("controller stopped", "kiosk", k.id, "err", err)
		}
	})
	wg.Go(func() {
		if err := k.link.Run(ctx); err != nil {
			slog.Error("link stopped", "kiosk", k.id, "err", err)
		}
	})
	wg.Wait()
}

// press is a citizen pressing the next call button at time at; it returns
// once the alarm is journaled.
func (k *simKiosk) press(ctx context.Context, at time.Time) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.pressAt = at
	// Requests in turn: a kiosk's first presses open incidents, later ones
	// join them (incident.pressed_again); both are alarms.
	req := kiosk.Requests[k.presses%len(kiosk.Requests)]
	k.presses++
	_, err := k.ctrl.Submit(ctx, kiosk.Press{Request: req, Source: "fleet"})
	return err
}

// drained reports whether the kiosk has nothing more to send: it has
// journaled its start, every incident is marked delivered, the link has
// nothing in flight and the outbox is empty.
//
// An empty outbox alone is not enough. The outbox takes an ack in two
// steps (firmware/outbox, AckEvents): it removes the acked events from the
// journal, then has the controller mark their incidents delivered, which
// journals incident.delivered, a new event to ship. Between the two steps
// (one controller turn and an fsync; long on a loaded machine) the outbox
// is empty and nothing is in flight, yet an event is still to come: a run
// that ended there counted the kiosk drained, and its check a moment later
// found incident.delivered in the outbox. Delivered is read first: the
// controller adopts it only after journaling the event, so the outbox read
// after it holds that event until the platform has acked it.
func (k *simKiosk) drained() bool {
	if k.undelivered() > 0 {
		return false
	}
	if seq, err := k.journal.LastSeq(); err != nil || seq == 0 || k.link.Status().InFlight > 0 {
		return false
	}
	n, _, err := k.journal.PendingCount()
	return err == nil && n == 0
}

// undelivered counts the kiosk's incidents not yet marked delivered.
func (k *simKiosk) undelivered() int {
	n := 0
	for _, in := range k.ctrl.State().Incidents {
		if !in.Delivered {
			n++
		}
	}
	return n
}

// describe says why a kiosk is not drained: its link's status and the
// first events left in its outbox, for a run that did not drain.
func (k *simKiosk) describe() string {
	st := k.link.Status()
	var b strings.Builder
	fmt.Fprintf(&b, "kiosk %s: link connected %v since %s, %d reconnects, %d in flight, %d resent, %d acks refused, last error %q",
		k.id, st.Connected, st.Since.Format("15:04:05.000"), st.Reconnects, st.InFlight, st.Resent, st.AcksRefused, st.LastError)
	n, _, err := k.journal.PendingCount()
	if err != nil {
		fmt.Fprintf(&b, "; outbox: %v", err)
		return b.String()
	}
	fmt.Fprintf(&b, "; %d incidents not marked delivered; outbox holds %d", k.undelivered(), n)
	evs, err := k.journal.Pending(0, 5)
	if err != nil {
		fmt.Fprintf(&b, "; pending: %v", err)
	}
	for _, ev := range evs {
		fmt.Fprintf(&b, "; seq %d %s id %s urgent %v journaled %s", ev.Seq, ev.Type, ev.ID, ev.Urgent, ev.Time.Format("15:04:05.000"))
	}
	return b.String()
}
