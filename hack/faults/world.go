package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"time"

	"kioskd/hack/brokertest"
)

// buttons are the five simulated call buttons, pressed round-robin.
var buttons = []string{"police", "community", "lawyer", "market", "labour"}

const (
	// perButtonGap keeps presses of one button apart: a button pressed
	// again while held, or within the debounce after release, is one press.
	perButtonGap = 110 * time.Millisecond
	// confirmWait bounds how long a press may take to show in /api/state.
	// A press shows only once its journal write is fdatasynced, and on a
	// disk shared with other writers (this harness's own platform store
	// syncs every batch it acks) one fdatasync was measured at up to 1.9 s
	// while the press path itself took microseconds: 2 s failed about one
	// run in four on a busy machine. 5 s still fails a press path that
	// blocks on anything but the disk.
	confirmWait = 5 * time.Second
	// settleWait bounds the wait for the outbox to drain after a scenario.
	settleWait = 60 * time.Second
)

// env is what every scenario shares: the built kioskd, a scratch directory,
// the random source, where progress goes.
type env struct {
	bin     string
	tmp     string
	rng     *rand.Rand
	out     io.Writer
	short   bool
	fsMode  string // see -fs
	showLog bool   // print the last kioskd's log after each scenario
}

func (e *env) logf(format string, args ...any) {
	fmt.Fprintf(e.out, "%s  "+format+"\n", append([]any{time.Now().Format("15:04:05.000")}, args...)...)
}

// jitter returns a random duration in [lo, hi].
func (e *env) jitter(lo, hi time.Duration) time.Duration {
	return lo + time.Duration(e.rng.Int64N(int64(hi-lo)+1))
}

// world is one scenario's setting: a mosquitto, perhaps a proxy in front of
// it, the platform, and one kioskd with its own state directory.
type world struct {
	e      *env
	name   string
	dir    string
	broker *brokertest.Broker
	proxy  *brokertest.Proxy
	plat   *platform
	k      *kioskd
	stop   context.CancelFunc

	// the presser's bookkeeping
	next      int
	lastPress map[string]time.Time
	accepted  int // HTTP 202 from the sim API
	confirmed int // seen in /api/state
	known     int // journaled presses: /api/state's last count plus closed
	closed    int // presses of incidents the harness closed
}

type worldOpts struct {
	viaProxy bool
	stateDir string   // default: a directory inside the world's
	journal  string   // a [journal] table to add to the config, or ""
	env      []string // kioskd's extra environment
}

func newWorld(ctx context.Context, e *env, name string, o worldOpts) (w *world, err error) {
	w = &world{e: e, name: name, lastPress: map[string]time.Time{}}
	defer func() {
		if err != nil {
			w.close()
		}
	}()
	if w.dir, err = os.MkdirTemp(e.tmp, name+"-"); err != nil {
		return w, err
	}
	if w.broker, err = brokertest.Launch(w.dir, brokertest.Options{NoDelay: true}); err != nil {
		return w, err
	}
	brokerURL := w.broker.URL()
	if o.viaProxy {
		if w.proxy, err = brokertest.OpenProxy(w.broker.Addr()); err != nil {
			return w, err
		}
		brokerURL = w.proxy.URL()
	}
	kioskID := "faults-" + name
	if w.plat, err = newPlatform(w.broker.URL(), kioskID); err != nil {
		return w, err
	}
	pctx, stop := context.WithCancel(ctx)
	w.stop = stop
	go w.plat.run(pctx)
	if o.stateDir == "" {
		o.stateDir = filepath.Join(w.dir, "state")
	}
	keyFile, err := w.plat.writePublicKey(w.dir)
	if err != nil {
		return w, err
	}
	tables := fmt.Sprintf("%s\n\n[commands]\npublic_key_files = [%q]", o.journal, keyFile)
	cfg, httpAddr, err := writeConfig(w.dir, kioskID, o.stateDir, brokerURL, tables)
	if err != nil {
		return w, err
	}
	w.k = newKioskd(e.bin, cfg, httpAddr)
	w.k.env = o.env
	return w, w.k.start()
}

// writeConfig writes a sim-driver kioskd config with a short keepalive and
// ack timeout, so faults are noticed and repaired within seconds, and the
// extra tables given. The broker is a local plain one.
func writeConfig(dir, kioskID, stateDir, brokerURL, extra string) (path, httpAddr string, err error) {
	port, err := brokertest.PickPort()
	if err != nil {
		return "", "", err
	}
	httpAddr = fmt.Sprintf("127.0.0.1:%d", port)
	var b strings.Builder
	fmt.Fprintf(&b, "version = 1\n\n[kiosk]\nid = %q\nstate_dir = %q\n\n[http]\nlisten = %q\n\n", kioskID, stateDir, httpAddr)
	fmt.Fprintf(&b, "[mqtt]\nbroker = %q\nallow_plain = true\nkeepalive = \"5s\"\nack_timeout = \"2s\"\n\n", brokerURL)
	b.WriteString("[devices]\ndriver = \"sim\"\n\n")
	if extra != "" {
		b.WriteString(extra + "\n\n")
	}
	for _, name := range buttons {
		fmt.Fprintf(&b, "[[buttons]]\nname = %q\nrequest = %q\n\n", name, name)
	}
	path = filepath.Join(dir, "kioskd.toml")
	return path, httpAddr, os.WriteFile(path, []byte(b.String()), 0o600)
}

func (w *world) close() {
	if w.k != nil {
		w.k.kill()
		if w.e.showLog {
			fmt.Fprintf(w.e.out, "--- log of the last kioskd of %s:\n%s", w.name, w.k.log)
		}
	}
	if w.stop != nil {
		w.stop()
	}
	if w.proxy != nil {
		w.proxy.Close()
	}
	if w.broker != nil {
		w.broker.Kill()
	}
	if w.dir != "" {
		_ = os.RemoveAll(w.dir)
	}
}

// press presses the next button and waits until /api/state counts it. It
// reports whether the sim API took the press (202) and whether the kiosk
// then showed it.
func (w *world) press(ctx context.Context) (accepted, confirmed bool) {
	b := buttons[w.next%len(buttons)]
	w.next++
	if wait := time.Until(w.lastPress[b].Add(perButtonGap)); wait > 0 {
		time.Sleep(wait)
	}
	w.lastPress[b] = time.Now()
	if ctx.Err() != nil || w.k.press(b) != nil {
		return false, false
	}
	w.accepted++
	for deadline := time.Now().Add(confirmWait); time.Now().Before(deadline) && w.k.alive(); time.Sleep(3 * time.Millisecond) {
		s, err := w.k.state()
		if err != nil {
			continue
		}
		if n := w.journaled(s); n > w.known {
			w.known = n
			w.confirmed++
			return true, true
		}
	}
	return true, false
}

// burst presses n times, stopping early when a press is not taken.
func (w *world) burst(ctx context.Context, n int) (unconfirmed int) {
	for range n {
		acc, ok := w.press(ctx)
		if !acc {
			return unconfirmed
		}
		if !ok {
			unconfirmed++
		}
	}
	return unconfirmed
}

// refreshKnown reads the press count from a (re)started kiosk.
func (w *world) refreshKnown() error {
	s, err := w.k.state()
	if err != nil {
		return err
	}
	w.known = w.journaled(s)
	return nil
}

// journaled is the number of presses the kiosk holds: those counted in its
// open incidents (the harness never lets one close by itself) and those of
// the incidents the harness closed.
func (w *world) journaled(s stateView) int { return s.presses() + w.closed }

// waitDelivered waits until the kiosk is connected and the platform holds
// as many distinct press events as the kiosk has journaled presses, and
// returns when that was.
func (w *world) waitDelivered(ctx context.Context, limit time.Duration) (time.Time, bool) {
	for deadline := time.Now().Add(limit); time.Now().Before(deadline) && ctx.Err() == nil; time.Sleep(5 * time.Millisecond) {
		s, err := w.k.state()
		if err == nil && s.Link.Connected && w.plat.counts().presses >= w.journaled(s) {
			return time.Now(), true
		}
	}
	return time.Time{}, false
}

// settle waits until the outbox is drained: every journaled press at the
// platform, the link up with nothing in flight and, unless gaps are allowed,
// no seq missing.
func (w *world) settle(ctx context.Context, allowGaps bool) bool {
	for deadline := time.Now().Add(settleWait); time.Now().Before(deadline) && ctx.Err() == nil; time.Sleep(50 * time.Millisecond) {
		s, err := w.k.state()
		if err != nil {
			continue
		}
		c := w.plat.counts()
		if c.presses >= w.journaled(s) && s.Link.Connected && s.Link.InFlight == 0 && (allowGaps || c.gaps == 0) {
			return true
		}
	}
	return false
}

// progress prints a line at most every 5 s.
func (w *world) progress(cycle, cycles int, last *time.Time) {
	if time.Since(*last) < 5*time.Second && cycle < cycles {
		return
	}
	*last = time.Now()
	c := w.plat.counts()
	w.e.logf("  %s: cycle %d/%d, confirmed %d, journaled %d, delivered %d, arrivals %d",
		w.name, cycle, cycles, w.confirmed, w.known, c.presses, c.arrivals)
}
