// Command faults is the fault harness: it builds the real kioskd, runs it
// with simulated buttons against a real mosquitto on 127.0.0.1, plays the
// police platform (stores, dedupes, acks after storing), and breaks things
// while it presses: kill -9 of kioskd, broker restarts, a proxy that resets,
// black-holes, delays and throttles, a full disk, a clock at 1970 and jumps,
// a journal file damaged while it holds unacked alarms.
// Each scenario prints what was pressed, delivered, lost (must be 0) and
// duplicated, and how long recovery took. It exits 1 on any loss, crash or
// broken promise.
//
//	go run ./hack/faults                      every scenario, default cycles
//	go run ./hack/faults -short               the CI version, about a minute
//	go run ./hack/faults -scenario kill -n 50 -seed 7
//
// -kioskd uses a prebuilt binary, -log prints kioskd's log, -fs picks the
// small filesystem of diskfull. Run as root (or with password-less sudo)
// for diskfull's tmpfs; without, it falls back to the journal's size cap.
// TestFaultsShort runs the -short campaign under go test.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"kioskd/firmware/testhooks"
	"kioskd/hack/brokertest"
)

// scenario is one kind of fault, with its default and -short cycle counts.
type scenario struct {
	name          string
	cycles, short int
	run           func(ctx context.Context, e *env, cycles int) *result
}

var scenarios = []scenario{
	{"kill", 200, 10, runKill},
	{"broker", 50, 5, runBroker},
	{"proxy", 20, 4, runProxy},
	{"diskfull", 3, 1, runDiskfull},
	{"clock", 5, 1, runClock},
	{"corrupt", 100, 5, runCorrupt},
}

type options struct {
	scenario string // a name or "all"
	cycles   int    // 0: each scenario's default
	short    bool
	seed     uint64
	kioskd   string // a kioskd binary to use instead of building one
	fs       string // diskfull's filesystem: auto, tmpfs, loop or cap
	showLog  bool
}

func main() {
	var o options
	flag.StringVar(&o.scenario, "scenario", "all", "all, or one of kill, broker, proxy, diskfull, clock, corrupt")
	flag.IntVar(&o.cycles, "n", 0, "cycles per scenario (default: each scenario's own)")
	flag.BoolVar(&o.short, "short", false, "few cycles, for CI")
	flag.Uint64Var(&o.seed, "seed", 0, "random seed (default: from the clock; printed)")
	flag.StringVar(&o.fs, "fs", "auto", "diskfull's small filesystem: auto (tmpfs, else loop ext4, else the journal cap), tmpfs, loop or cap")
	flag.BoolVar(&o.showLog, "log", false, "print the last kioskd's log after each scenario")
	flag.StringVar(&o.kioskd, "kioskd", "", "use this kioskd binary instead of building ./firmware/cmd/kioskd (build it with -tags kioskd_testhooks: the clock scenario needs them)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	results, err := run(ctx, o, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "faults:", err)
		os.Exit(2)
	}
	if failed(results) || ctx.Err() != nil {
		os.Exit(1)
	}
}

// run builds kioskd and runs the chosen scenarios, printing as it goes.
func run(ctx context.Context, o options, out io.Writer) ([]*result, error) {
	chosen, err := choose(o.scenario)
	if err != nil {
		return nil, err
	}
	if _, err := brokertest.Binary(); err != nil {
		return nil, err
	}
	if o.seed == 0 {
		o.seed = uint64(time.Now().UnixNano())
	}
	tmp, err := os.MkdirTemp("", "kioskd-faults-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	e := &env{tmp: tmp, rng: rand.New(rand.NewPCG(o.seed, 0x6b696f736b64)), out: out, short: o.short, fsMode: o.fs, showLog: o.showLog}
	if e.fsMode == "" {
		e.fsMode = "auto"
	}
	if e.bin = o.kioskd; e.bin == "" {
		if e.bin, err = buildKioskd(tmp); err != nil {
			return nil, err
		}
	}
	e.logf("faults: seed %d, scenarios %s", o.seed, o.scenario)
	var results []*result
	for _, s := range chosen {
		if ctx.Err() != nil {
			break
		}
		results = append(results, runOne(ctx, e, s, o))
	}
	summarize(out, results, ctx.Err())
	return results, nil
}

func runOne(ctx context.Context, e *env, s scenario, o options) *result {
	n := s.cycles
	if o.short {
		n = s.short
	}
	if o.cycles > 0 {
		n = o.cycles
	}
	start := time.Now()
	e.logf("scenario %s: %d cycles", s.name, n)
	r := s.run(ctx, e, n)
	r.notef("took %s", time.Since(start).Round(100*time.Millisecond))
	r.print(e.out)
	return r
}

func choose(name string) ([]scenario, error) {
	if name == "all" {
		return scenarios, nil
	}
	var names []string
	for _, s := range scenarios {
		if s.name == name {
			return []scenario{s}, nil
		}
		names = append(names, s.name)
	}
	return nil, fmt.Errorf("-scenario %q: want all or one of %s", name, strings.Join(names, ", "))
}

// buildKioskd builds firmware/cmd/kioskd of this module into dir, with the
// test hooks (firmware/testhooks): the clock scenario sets the wall offset.
func buildKioskd(dir string) (string, error) {
	gomod, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil || strings.TrimSpace(string(gomod)) == "" || strings.TrimSpace(string(gomod)) == os.DevNull {
		return "", fmt.Errorf("find the kioskd module (run inside it): %v", err)
	}
	bin := filepath.Join(dir, "kioskd")
	cmd := exec.Command("go", "build", "-tags", testhooks.Tag, "-o", bin, "./firmware/cmd/kioskd")
	cmd.Dir = filepath.Dir(strings.TrimSpace(string(gomod)))
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build -tags %s ./firmware/cmd/kioskd: %w\n%s", testhooks.Tag, err, out)
	}
	return bin, nil
}

func failed(results []*result) bool {
	for _, r := range results {
		if len(r.failures) > 0 {
			return true
		}
	}
	return false
}

func summarize(out io.Writer, results []*result, interrupted error) {
	lost, fails := 0, 0
	for _, r := range results {
		lost += max(r.lost(), 0)
		fails += len(r.failures)
	}
	switch {
	case interrupted != nil:
		fmt.Fprintf(out, "faults: interrupted after %d scenarios; lost %d, failures %d\n", len(results), lost, fails)
	case fails > 0:
		fmt.Fprintf(out, "faults: FAILED: lost %d, failures %d\n", lost, fails)
	default:
		fmt.Fprintf(out, "faults: ok: %d scenarios, lost 0\n", len(results))
	}
}
