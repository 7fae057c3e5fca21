// Command fleet runs N kiosks in one process, each with its own journal
// file, controller and cloud link (the product's code, wired as kioskd
// wires them), against a real mosquitto on loopback, and a station-side
// consumer on a shared subscription that stores and acks every event. It
// storms the fleet with alarms, kills and restarts the broker, and prints
// alarm latency, losses, duplicates, recovery time and memory per kiosk.
//
//	go run ./hack/fleet -n 500
//
// See README.md for what the figures mean and how a real deployment grows
// past one broker.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	cfg, runs, verbose := parseFlags()
	level := slog.LevelError
	if verbose {
		level = slog.LevelInfo
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	slog.SetDefault(log)
	cfg.Log = log
	if cfg.Broker != "" && cfg.Restart {
		fmt.Fprintln(os.Stderr, "fleet: -broker given: the broker is not ours to kill; no restart")
		cfg.Restart = false
	}
	if err := checkFiles(cfg); err != nil {
		fmt.Fprintln(os.Stderr, "fleet:", err)
		os.Exit(1)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var results []*result
	for i := 1; i <= runs && ctx.Err() == nil; i++ {
		r, err := run(ctx, cfg)
		if err != nil {
			fmt.Fprintln(os.Stderr, "fleet:", err)
			os.Exit(1)
		}
		r.print(os.Stdout, i, runs)
		results = append(results, r)
	}
	if len(results) > 1 {
		printSummary(os.Stdout, results)
	}
	for _, r := range results {
		if r.Tally.Lost > 0 || r.PressErrors > 0 {
			os.Exit(2)
		}
	}
}

func parseFlags() (config, int, bool) {
	var c config
	flag.IntVar(&c.Kiosks, "n", 500, "kiosks")
	flag.IntVar(&c.Alarms, "alarms", 5000, "alarms (button presses) in the storm, at random kiosks")
	flag.Float64Var(&c.Rate, "rate", 500, "alarms per second, fleet-wide; 0 presses them all at once")
	flag.DurationVar(&c.Duration, "duration", time.Minute, "the storm stops pressing after this")
	flag.DurationVar(&c.Drain, "drain", 2*time.Minute, "longest wait for the fleet to come online, recover or drain")
	flag.StringVar(&c.Broker, "broker", "", "use this broker (tcp://host:port) instead of starting mosquitto; no restart then")
	flag.BoolVar(&c.Restart, "broker-restart", true, "kill -9 the broker during the storm and restart it")
	flag.Float64Var(&c.RestartAt, "restart-at", 0.5, "kill the broker once this fraction of the alarms was pressed")
	flag.DurationVar(&c.Pause, "restart-pause", 2*time.Second, "how long the broker stays down")
	flag.IntVar(&c.Consumers, "consumers", 2, "consumer connections in the shared subscription")
	flag.DurationVar(&c.Heartbeat, "heartbeat", 10*time.Second, "kiosks' heartbeat period (kioskd's default is 1m)")
	flag.DurationVar(&c.AckTimeout, "ack-timeout", 10*time.Second, "kiosks' re-send period for unacked events")
	flag.StringVar(&c.StateDir, "state", "", "directory for the kiosks' journals (default: the system temp dir)")
	flag.IntVar(&c.Limits.MaxQueued, "max-queued", 100000, "mosquitto max_queued_messages (its default: 1000)")
	flag.IntVar(&c.Limits.MaxInflight, "max-inflight", 0, "mosquitto max_inflight_messages (0: its default, 20)")
	runs := flag.Int("runs", 1, "runs, each with a fresh fleet and broker; >1 prints medians")
	verbose := flag.Bool("v", false, "log the kiosks' warnings and info")
	flag.Parse()
	return c, *runs, *verbose
}

// checkFiles raises the open-file limit and checks that the kiosks and the
// broker fit in it: per kiosk, a journal file and a socket here, a socket
// in mosquitto (which inherits the raised limit).
func checkFiles(cfg config) error {
	limit, err := raiseFileLimit()
	if err != nil {
		return err
	}
	if need := uint64(2*cfg.Kiosks + 100); limit < need {
		return fmt.Errorf("open-file limit %d, need about %d for %d kiosks: raise it (ulimit -Hn, LimitNOFILE)", limit, need, cfg.Kiosks)
	}
	return nil
}
