package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"kioskd/cloudlink/contract"
	"kioskd/firmware"
	"kioskd/kiosk"
	"kioskd/kiosk/journal"
)

// deliverWait bounds the wait for the survivors of one damage to reach the
// platform after the restart.
const deliverWait = 30 * time.Second

// runCorrupt damages the journal while it holds unacked alarms. Each
// trial presses with a platform that stores but does not ack, kills
// kioskd (SIGKILL), damages journal.db in one of four ways (random bytes
// at random offsets, truncation, zeroed meta pages, zeroed data pages),
// restarts kioskd on it and lets the platform ack again. Pass line: every
// alarm whose stored bytes survived the damage (found intact by a raw
// scan, journal.ScanEvents) reaches the platform; no seq ever arrives
// with two ids; kioskd never crashes and always starts.
func runCorrupt(ctx context.Context, e *env, trials int) *result {
	r := &result{name: "corrupt", cycles: trials}
	w, err := newWorld(ctx, e, "corrupt", worldOpts{})
	if err != nil {
		r.failf("setup: %v", err)
		return r
	}
	defer w.close()
	obs, err := observe(w.broker.URL(), w.plat.topics.Events())
	if err != nil {
		r.failf("setup: %v", err)
		return r
	}
	defer obs.close()
	journalPath := filepath.Join(w.dir, "state", firmware.JournalFile)
	t := corruptTally{kinds: map[string]int{}}
	last := time.Now()
	for i := 1; i <= trials && ctx.Err() == nil; i++ {
		if !w.corruptTrial(ctx, r, &t, obs, journalPath, i) {
			break
		}
		w.progress(i, trials, &last)
	}
	t.report(r, w)
	for _, crash := range w.k.takeCrashes() {
		r.failf("%s", crash)
	}
	for _, p := range w.plat.counts().problems {
		r.failf("platform: %s", p)
	}
	return r
}

// corruptTally counts alarms over all trials.
type corruptTally struct {
	atRisk    int // unacked press events in the journal when it was damaged
	survived  int // of those, intact in the damaged bytes
	delivered int // of the survivors, at the platform after the restart
	destroyed int // at risk, bytes not intact: the damage took them
	bonus     int // destroyed per the raw scan, delivered all the same
	salvaged  int // restarts that reported a salvage
	kinds     map[string]int
}

// count adds one trial's alarms.
func (t *corruptTally) count(obs *observer, atRisk map[string]journal.Event, survivors map[string]bool, missing []string, restart time.Time) {
	t.atRisk += len(atRisk)
	t.survived += len(survivors)
	t.destroyed += len(atRisk) - len(survivors)
	t.delivered += len(survivors) - len(missing)
	for id := range atRisk {
		if !survivors[id] && obs.arrivedSince(id, restart) {
			t.bonus++
		}
	}
}

func (t *corruptTally) report(r *result, w *world) {
	c := w.plat.counts()
	r.pressed, r.confirmed, r.delivered = t.survived, 0, t.delivered
	r.duplicates = c.arrivals - c.distinct
	r.notef("alarms at risk %d, survived the damage %d, delivered %d, lost %d, destroyed by the damage %d (of which delivered anyway %d)",
		t.atRisk, t.survived, t.delivered, t.survived-t.delivered, t.destroyed, t.bonus)
	r.notef("seq reused %d (a seq arriving with two ids, across every boot)", seqReuses(c.problems))
	r.notef("restarts that salvaged %d; damage kinds %v", t.salvaged, t.kinds)
	r.notef("pressed/delivered above count the survivors; presses taken by the sim API %d", w.accepted)
}

func seqReuses(problems []string) int {
	n := 0
	for _, p := range problems {
		if strings.Contains(p, "reused") {
			n++
		}
	}
	return n
}

// corruptTrial runs one trial; false when kioskd cannot be restarted.
func (w *world) corruptTrial(ctx context.Context, r *result, t *corruptTally, obs *observer, path string, i int) bool {
	w.plat.hold.Store(true)
	w.burst(ctx, 2+w.e.rng.IntN(5))
	w.k.kill()
	atRisk, err := pendingPresses(path, w.dir)
	if err != nil {
		r.failf("trial %d: read the journal before damage: %v", i, err)
	}
	kind, err := w.damage(path)
	if err != nil {
		r.failf("trial %d: damage: %v", i, err)
		return false
	}
	t.kinds[kind]++
	survivors := intactIDs(path, atRisk)
	w.plat.hold.Store(false)
	restart := time.Now()
	if err := w.k.start(); err != nil {
		r.failf("trial %d (%s): kioskd refused to start: %v", i, kind, err)
		return false
	}
	if strings.Contains(w.k.log.String(), "damaged file rebuilt") {
		t.salvaged++
	}
	if err := w.refreshKnown(); err != nil {
		r.failf("trial %d: state after restart: %v", i, err)
	}
	missing := obs.waitArrived(ctx, survivors, restart)
	t.count(obs, atRisk, survivors, missing, restart)
	if len(missing) > 0 {
		r.failf("trial %d (%s): %d alarms whose bytes survived were not sent again after the restart: %v",
			i, kind, len(missing), missing)
	}
	if !w.settle(ctx, true) {
		r.failf("trial %d (%s): outbox not drained within %v", i, kind, settleWait)
	}
	return true
}

// pendingPresses reads the unacked press events of the journal at path,
// through a copy in scratch so that the file itself stays as kioskd left
// it. The platform acks nothing during the presses, so every press the
// journal holds is at risk.
func pendingPresses(path, scratch string) (map[string]journal.Event, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(scratch, "copy-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	cp := filepath.Join(dir, "journal.db")
	if err := os.WriteFile(cp, b, 0o600); err != nil {
		return nil, err
	}
	j, err := journal.Open(cp, journal.Options{KioskID: "copy", Timeout: time.Second})
	if err != nil {
		return nil, err
	}
	defer j.Close()
	if j.Recovered() != "" {
		return nil, errors.New("the undamaged journal needed a salvage")
	}
	evs, err := j.Pending(0, 1<<20)
	out := map[string]journal.Event{}
	for _, ev := range evs {
		if ev.Type == kiosk.EvRegistered || ev.Type == kiosk.EvPressedAgain {
			out[ev.ID] = ev
		}
	}
	return out, err
}

// intactIDs returns the ids of atRisk whose stored bytes are intact in the
// file at path: a sealed record a raw scan finds (journal.ScanEvents), or
// an older kioskd's unsealed record whose JSON is there whole.
func intactIDs(path string, atRisk map[string]journal.Event) map[string]bool {
	b, _ := os.ReadFile(path) // a missing file holds nothing
	out := map[string]bool{}
	for _, ev := range journal.ScanEvents(b) {
		if _, ok := atRisk[ev.ID]; ok {
			out[ev.ID] = true
		}
	}
	for id, ev := range atRisk {
		if v, err := json.Marshal(ev); err == nil && bytes.Contains(b, v) {
			out[id] = true
		}
	}
	return out
}

// observer watches the events topic beside the platform and notes when
// each id last arrived: an alarm counts as delivered after a damage only
// if the restarted kiosk sent it again, since the platform stored, but
// never acked, the first copy.
type observer struct {
	c    mqtt.Client
	mu   sync.Mutex
	last map[string]time.Time
}

func observe(url, topic string) (*observer, error) {
	o := &observer{last: map[string]time.Time{}}
	id := fmt.Sprintf("faults-observer-%d", clientSeq.Add(1))
	o.c = mqtt.NewClient(mqtt.NewClientOptions().AddBroker(url).SetClientID(id).
		SetCleanSession(true).SetAutoReconnect(true).SetConnectTimeout(opTimeout))
	if err := mqtt.WaitTokenTimeout(o.c.Connect(), opTimeout); err != nil {
		return nil, fmt.Errorf("observer: connect: %w", err)
	}
	tok := o.c.Subscribe(topic, 1, func(_ mqtt.Client, m mqtt.Message) {
		var ev contract.Event
		if json.Unmarshal(m.Payload(), &ev) == nil {
			o.mu.Lock()
			o.last[ev.ID] = time.Now()
			o.mu.Unlock()
		}
	})
	if err := mqtt.WaitTokenTimeout(tok, opTimeout); err != nil {
		o.close()
		return nil, fmt.Errorf("observer: subscribe: %w", err)
	}
	return o, nil
}

func (o *observer) close() { o.c.Disconnect(100) }

func (o *observer) arrivedSince(id string, t time.Time) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return !o.last[id].Before(t)
}

// waitArrived waits until every id arrived after since, and returns those
// that did not within deliverWait.
func (o *observer) waitArrived(ctx context.Context, ids map[string]bool, since time.Time) []string {
	var missing []string
	for deadline := time.Now().Add(deliverWait); ctx.Err() == nil; time.Sleep(20 * time.Millisecond) {
		missing = missing[:0]
		for id := range ids {
			if !o.arrivedSince(id, since) {
				missing = append(missing, id)
			}
		}
		if len(missing) == 0 || time.Now().After(deadline) {
			break
		}
	}
	return missing
}

// damage breaks the file at path in one of four ways, chosen at random,
// and names the way. Offsets fall in the part of the file in use, up to
// its last byte that is not zero: bbolt grows the file a megabyte at a
// time, and damage to the zeros past its pages costs nothing.
func (w *world) damage(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	used := int64(len(bytes.TrimRight(b, "\x00")))
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return "", err
	}
	defer f.Close()
	d := damager{f: f, size: max(used, 1), page: int64(os.Getpagesize()), rng: w.e.rng}
	switch w.e.rng.IntN(4) {
	case 0:
		return "random bytes", d.randomBytes()
	case 1:
		return "truncated", f.Truncate(d.rng.Int64N(d.size))
	case 2:
		pages := [][2]int64{{0, 1}, {1, 2}, {0, 2}}[d.rng.IntN(3)]
		return "meta pages zeroed", d.zero(pages[0], pages[1])
	default:
		return "data pages zeroed", d.zeroData()
	}
}

type damager struct {
	f          *os.File
	size, page int64
	rng        *rand.Rand
}

// randomBytes writes 32 random bytes at 1 to 8 random offsets.
func (d damager) randomBytes() error {
	for range 1 + d.rng.IntN(8) {
		b := make([]byte, 32)
		for i := range b {
			b[i] = byte(d.rng.Uint32())
		}
		if _, err := d.f.WriteAt(b, d.rng.Int64N(max(d.size-32, 1))); err != nil {
			return err
		}
	}
	return nil
}

// zero zeroes pages [from, to).
func (d damager) zero(from, to int64) error {
	_, err := d.f.WriteAt(make([]byte, (to-from)*d.page), from*d.page)
	return err
}

// zeroData zeroes 1 to 3 random pages past the two meta pages.
func (d damager) zeroData() error {
	for range 1 + d.rng.IntN(3) {
		p := 2 + d.rng.Int64N(max(d.size/d.page-2, 1))
		if err := d.zero(p, p+1); err != nil {
			return err
		}
	}
	return nil
}
