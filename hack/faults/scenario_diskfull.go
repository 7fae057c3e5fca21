package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// journalTable is the [journal] config the scenario runs with: a cap the
// small filesystem can hold, and a reserve for alarms.
const (
	journalTable    = "[journal]\nmax_size = \"8MiB\"\nreserve = \"1MiB\"\ntelemetry_budget = 10000"
	journalCapTable = "[journal]\nmax_size = \"4MiB\"\nreserve = \"512KiB\"\ntelemetry_budget = 100"
	faultShowWait   = 15 * time.Second // the journal is probed every 10 s
	healthyWait     = 30 * time.Second
)

// runDiskfull puts the state directory on a small filesystem, fills it with
// a ballast file and keeps pressing. Every press the kiosk takes must reach
// the platform, the kiosk must show a fault, and it must never crash. Then
// the ballast goes and the kiosk must become healthy and drain.
func runDiskfull(ctx context.Context, e *env, cycles int) *result {
	r := &result{name: "diskfull", cycles: cycles}
	fs, err := mountSmallFS(e.tmp, e.fsMode)
	if err != nil {
		r.failf("setup: %v", err)
		return r
	}
	defer fs.unmount()
	r.notef("mechanism: %s", fs.mechanism)
	table := journalTable
	if fs.capOnly {
		table = journalCapTable
	}
	if err := checkJournalKeys(e, table); err != nil {
		r.failf("kioskd rejects the journal keys, running without them: %v", err)
		table = ""
	}
	w, err := newWorld(ctx, e, "diskfull", worldOpts{stateDir: filepath.Join(fs.dir, "state"), journal: table})
	if err != nil {
		r.failf("setup: %v", err)
		return r
	}
	defer w.close()
	if n := w.burst(ctx, 5); n > 0 {
		r.failf("%d presses on an empty disk never showed in /api/state", n)
	}
	if s := w.faultShown(); s != "" {
		r.failf("faults before the disk filled: %s", s)
	}
	refused, last := 0, time.Now()
	for i := 1; i <= cycles && ctx.Err() == nil; i++ {
		refused += w.diskfullCycle(ctx, r, fs, i)
		w.progress(i, cycles, &last)
	}
	r.notef("presses taken by the sim API but refused by the kiosk (never in /api/state) while full: %d", refused)
	r.notef("recover = ballast removed to the fault cleared and every journaled press at the platform")
	r.finish(ctx, w, true)
	if r.gaps > 0 {
		r.notef("%d seqs never reached the platform: telemetry dropped for space is allowed to leave gaps", r.gaps)
	}
	return r
}

// diskfullCycle fills, presses, checks the fault, frees, and returns the
// number of presses the kiosk refused.
func (w *world) diskfullCycle(ctx context.Context, r *result, fs *smallFS, cycle int) int {
	if !fs.capOnly {
		n, err := fs.fill()
		if err != nil {
			r.failf("cycle %d: ballast: %v", cycle, err)
		}
		w.e.logf("  diskfull: cycle %d: ballast of %.1f MiB fills the filesystem", cycle, float64(n)/(1<<20))
	}
	refused := w.pressWhileFull(ctx, fs.capOnly)
	shown := w.waitFault(faultShowWait)
	switch {
	case shown == "" && fs.capOnly && w.e.short:
		r.notef("cycle %d: the journal cap was not reached in -short mode: run as root (or with sudo) for a small filesystem", cycle)
	case shown == "":
		r.failf("cycle %d: no fault on /healthz or /api/state within %v of the disk filling", cycle, faultShowWait)
	case cycle == 1:
		r.notef("fault shown: %s", shown)
	}
	if !w.k.alive() {
		r.failf("cycle %d: kioskd died on a full disk; restarting it", cycle)
		if err := w.k.start(); err != nil {
			r.failf("cycle %d: restart: %v", cycle, err)
		}
	}
	freed := time.Now()
	if fs.capOnly {
		r.notef("cycle %d: cap mode: nothing to free, the journal's file does not shrink; the fault may stay", cycle)
	} else {
		if err := fs.empty(); err != nil {
			r.failf("cycle %d: remove ballast: %v", cycle, err)
		}
		freed = time.Now()
		if still := w.waitNoFault(healthyWait); still != "" {
			r.failf("cycle %d: %v after freeing space: %s", cycle, healthyWait, still)
		}
	}
	if at, ok := w.waitDelivered(ctx, settleWait); ok {
		r.recover = append(r.recover, at.Sub(freed))
	} else {
		r.failf("cycle %d: presses not delivered within %v of freeing space", cycle, settleWait)
	}
	return refused
}

// pressWhileFull presses until three presses in a row are refused, or 200
// (20 with -short); with only the cap to fill, until a fault shows.
func (w *world) pressWhileFull(ctx context.Context, capOnly bool) (refused int) {
	limit, inARow := 200, 0
	if w.e.short {
		limit = 20
	}
	if capOnly {
		limit = 3000 // about 2 minutes of pressing
		if w.e.short {
			limit = 300
		}
	}
	for i := 0; i < limit && inARow < 3 && ctx.Err() == nil && w.k.alive(); i++ {
		acc, ok := w.press(ctx)
		switch {
		case ok:
			inARow = 0
		case acc:
			refused++
			inARow++
		}
		if capOnly && i%50 == 49 && w.faultShown() != "" {
			return refused
		}
	}
	return refused
}

// faultShown describes what /healthz and /api/state say is wrong, or "".
func (w *world) faultShown() string {
	var shown []string
	if code, body, err := w.k.health(); err == nil && code != 200 {
		shown = append(shown, fmt.Sprintf("/healthz %d %s", code, strings.Join(strings.Fields(body), " ")))
	}
	if s, err := w.k.state(); err == nil {
		for _, f := range s.Faults {
			shown = append(shown, fmt.Sprintf("/api/state fault %s (%s)", f.Key, f.Detail))
		}
	}
	return strings.Join(shown, "; ")
}

func (w *world) waitFault(limit time.Duration) string {
	for deadline := time.Now().Add(limit); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if s := w.faultShown(); s != "" {
			return s
		}
	}
	return ""
}

// waitNoFault waits until no fault shows and returns what still shows.
func (w *world) waitNoFault(limit time.Duration) string {
	var s string
	for deadline := time.Now().Add(limit); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if s = w.faultShown(); s == "" {
			return ""
		}
	}
	return s
}

// checkJournalKeys asks kioskd check-config whether it knows the [journal] keys.
func checkJournalKeys(e *env, table string) error {
	dir, err := os.MkdirTemp(e.tmp, "check-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	path, _, err := writeConfig(dir, "faults-check", filepath.Join(dir, "state"), "tcp://127.0.0.1:1883", table)
	if err != nil {
		return err
	}
	out, err := exec.Command(e.bin, "check-config", path).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%w: %s", err, strings.TrimSpace(string(out)))
	}
	return nil
}
