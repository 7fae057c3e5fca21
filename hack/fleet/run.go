package main

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
)

// config is one run's shape. Every phase is bounded in count and time.
type config struct {
	Kiosks     int
	Alarms     int           // presses in the storm, spread at random over the kiosks
	Rate       float64       // presses per second, fleet-wide; 0: all at once
	Duration   time.Duration // the storm stops pressing after this, done or not
	Drain      time.Duration // longest wait for the fleet to come online or drain
	Broker     string        // an external broker's URL; "" starts mosquitto
	Limits     brokerLimits  // for the mosquitto we start
	Restart    bool          // kill -9 the broker during the storm, restart it
	RestartAt  float64       // ... once this fraction of the alarms was pressed
	Pause      time.Duration // ... and restart it after this pause
	Consumers  int           // connections in the shared subscription
	Heartbeat  time.Duration // kiosks' heartbeat period
	AckTimeout time.Duration // kiosks' re-send period
	StateDir   string        // parent of the kiosks' journals; "" for a temp dir
	Log        *slog.Logger  // the kiosks' log
}

// result is what one run measured.
type result struct {
	Kiosks, Pressed, PressErrors int
	Tally                        tally
	Startup                      time.Duration // start → every kiosk online, start events acked
	Restarted                    bool
	Killed                       time.Time
	Outage                       time.Duration   // kill → broker accepting again
	ConsumerBack                 time.Duration   // broker back → the consumer subscribed again
	BeforeConsumer               int             // kiosks connected again before it
	Backlog                      int             // alarms not yet received when the broker came back
	Online                       time.Duration   // broker back → every kiosk online again
	Reconnects                   []time.Duration // broker back → each kiosk online again
	Recovered                    time.Duration   // broker back → every alarm journaled before it received
	Storm                        time.Duration   // first press → last press journaled
	Drain                        time.Duration   // last press journaled → all received, outboxes empty (a restart's recovery may end later)
	OutboxLeft                   int             // kiosks not drained at the end (see simKiosk.drained)
	Undrained                    []string        // what those kiosks' links and outboxes held
	DrainTimedOut                bool            // the wait for the drain gave up after Drain
	Idle, Before                 memSample       // with the fleet idle, and before it started
	PerKiosk                     perKiosk
	ConsumerReconnects           int64
	ConsumerCommits              []time.Duration // the consumer's store transactions
	ConsumerStored, ConsumerBad  int             // events stored (repeats included), messages that did not decode
	Load, LoadEnd                string          // /proc/loadavg at the start and the end
	BrokerLogLines               int             // errors and warnings mosquitto logged
	BrokerLog                    []string
	Disk                         diskSample // the state dir's device, storm start → drained
	DiskOK                       bool
	Busy                         time.Duration // storm start → drained, wall time
	CPU, BrokerCPU               time.Duration // CPU used meanwhile by this process and by mosquitto
	Sched                        schedHist     // goroutines' waits for a CPU meanwhile
	brokerCPU0                   time.Duration // mosquitto's CPU at storm start
}

// run builds a fleet, storms it, restarts the broker and measures.
func run(ctx context.Context, cfg config) (*result, error) {
	res := &result{Kiosks: cfg.Kiosks, Load: loadAvg()}
	dir, err := os.MkdirTemp(cfg.StateDir, "fleet-")
	if err != nil {
		return nil, fmt.Errorf("state dir: %w", err)
	}
	defer os.RemoveAll(dir)
	var b *broker
	url := cfg.Broker
	if url == "" {
		if b, err = launchBroker(dir, cfg.Limits); err != nil {
			return nil, err
		}
		defer b.Stop()
		url = b.URL()
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	book := newLedger()
	ackPub, ackKey, err := ed25519.GenerateKey(nil) // the platform's ack key; every kiosk trusts it
	if err != nil {
		return nil, fmt.Errorf("ack key: %w", err)
	}
	cons, err := startConsumer(ctx, url, cfg.Consumers, book, filepath.Join(dir, "consumer.db"), ackKey)
	if err != nil {
		return nil, err
	}
	defer cons.close()
	defer cancel() // before cons.close, which waits for its acker
	res.Before = sampleMemory(b.pidOrZero())
	set := kioskSettings{Broker: url, Heartbeat: cfg.Heartbeat, AckTimeout: cfg.AckTimeout, AckKey: ackPub}
	kiosks, err := openFleet(dir, cfg.Kiosks, set, book, cfg.Log)
	if err != nil {
		return nil, err
	}
	defer closeFleet(kiosks)
	var fleet sync.WaitGroup
	defer fleet.Wait() // after cancel: every controller and link has stopped
	defer cancel()
	for _, k := range kiosks {
		fleet.Go(func() { k.run(ctx) })
	}
	if err := res.measure(ctx, cfg, kiosks, b, book, cons); err != nil {
		return res, err
	}
	res.ConsumerReconnects = cons.reconnects.Load()
	cancel()
	cons.wg.Wait() // its acker has stopped: its figures are final
	res.ConsumerCommits, res.ConsumerStored, res.ConsumerBad = cons.commits, cons.stored, int(cons.bad.Load())
	if b != nil {
		res.BrokerLogLines, res.BrokerLog = b.logLines()
	}
	return res, nil
}

// measure runs the phases on a running fleet.
func (res *result) measure(ctx context.Context, cfg config, kiosks []*simKiosk, b *broker, book *ledger, cons *consumer) error {
	start := time.Now()
	if !waitFor(ctx, cfg.Drain, func() bool { return allOnline(kiosks) && allDrained(kiosks) }) {
		return fmt.Errorf("fleet not online and drained after %v", cfg.Drain)
	}
	res.Startup = time.Since(start)
	res.Idle = sampleMemory(b.pidOrZero())
	res.PerKiosk = growth(res.Before, res.Idle, len(kiosks))
	dir := filepath.Dir(kiosks[0].dir)
	u0 := sampleUsage(dir)
	res.brokerCPU0 = procCPU(b.pidOrZero())
	s, err := res.storm(ctx, cfg, kiosks, b, book, cons)
	if err != nil {
		return err
	}
	res.Pressed, res.PressErrors, res.Storm = s.pressed, int(s.failed.Load()), s.lastAt.Sub(s.start)
	if !waitFor(ctx, cfg.Drain, func() bool { return book.missing(time.Time{}) == 0 && allDrained(kiosks) }) {
		slog.Warn("fleet not drained", "after", cfg.Drain)
		res.DrainTimedOut = true
	}
	res.Drain = time.Since(s.lastAt)
	res.BrokerCPU += procCPU(b.pidOrZero()) - res.brokerCPU0
	res.addUsage(u0, sampleUsage(dir))
	res.Tally = book.tally(res.Killed)
	for _, k := range kiosks {
		if !k.drained() {
			res.OutboxLeft++
			res.Undrained = append(res.Undrained, k.describe())
		}
	}
	return nil
}

// storm presses, restarts the broker when the storm says so, and returns
// once the storm has pressed its last.
func (res *result) storm(ctx context.Context, cfg config, kiosks []*simKiosk, b *broker, book *ledger, cons *consumer) (*storm, error) {
	s := newStorm(kiosks, cfg)
	stormDone := make(chan struct{})
	go func() { defer close(stormDone); s.run(ctx) }()
	if cfg.Restart && b != nil {
		select {
		case <-s.restartNow:
		case <-stormDone:
		}
		if err := res.restartBroker(ctx, cfg, kiosks, b, book, cons); err != nil {
			<-stormDone
			return nil, err
		}
	}
	<-stormDone
	return s, nil
}

// usage is what the machine has spent up to a moment.
type usage struct {
	at     time.Time
	sched  schedHist
	cpu    time.Duration // this process
	disk   diskSample
	diskOK bool
}

func sampleUsage(dir string) usage {
	d, ok := sampleDisk(dir)
	return usage{at: time.Now(), cpu: selfCPU(), disk: d, diskOK: ok, sched: sampleSched()}
}

func (res *result) addUsage(u0, u1 usage) {
	res.Busy, res.CPU = u1.at.Sub(u0.at), u1.cpu-u0.cpu
	res.Sched = u1.sched.since(u0.sched)
	if u0.diskOK && u1.diskOK {
		res.Disk, res.DiskOK = u1.disk.minus(u0.disk), true
	}
	res.LoadEnd = loadAvg()
}

// restartBroker kills the broker, restarts it after the pause and times the
// fleet's recovery.
func (res *result) restartBroker(ctx context.Context, cfg config, kiosks []*simKiosk, b *broker, book *ledger, cons *consumer) error {
	res.BrokerCPU = procCPU(b.Pid()) - res.brokerCPU0 // the new process counts from zero
	res.brokerCPU0 = 0
	killed := time.Now()
	b.Kill()
	sleep(ctx, cfg.Pause)
	if err := b.Restart(); err != nil {
		return fmt.Errorf("restart broker: %w", err)
	}
	back := time.Now()
	res.Restarted, res.Killed, res.Outage = true, killed, back.Sub(killed)
	res.Backlog = book.missing(back)
	res.Reconnects = make([]time.Duration, len(kiosks))
	connectedAt := make([]time.Time, len(kiosks))
	online := func() bool {
		all := true
		for i, k := range kiosks {
			if st := k.link.Status(); connectedAt[i].IsZero() && st.Connected && st.Since.After(killed) {
				connectedAt[i] = st.Since
				res.Reconnects[i] = max(0, st.Since.Sub(back)) // 0: before start returned
			}
			all = all && !connectedAt[i].IsZero()
		}
		return all
	}
	if !waitFor(ctx, cfg.Drain, online) {
		return fmt.Errorf("fleet not back online %v after the broker restart", cfg.Drain)
	}
	res.Online = time.Since(back)
	subscribed := time.Unix(0, cons.subscribed.Load())
	res.ConsumerBack = max(0, subscribed.Sub(back))
	for _, at := range connectedAt {
		if at.Before(subscribed) {
			res.BeforeConsumer++
		}
	}
	if !waitFor(ctx, cfg.Drain, func() bool { return book.missing(back) == 0 }) {
		return fmt.Errorf("backlog not drained %v after the broker restart", cfg.Drain)
	}
	res.Recovered = time.Since(back)
	return nil
}

// openFleet opens n kiosks' journals, a few at a time.
func openFleet(dir string, n int, set kioskSettings, book *ledger, log *slog.Logger) ([]*simKiosk, error) {
	kiosks := make([]*simKiosk, n)
	var g errgroup.Group
	g.SetLimit(8)
	for i := range n {
		g.Go(func() error {
			id := fmt.Sprintf("fleet-%05d", i)
			k, err := openKiosk(filepath.Join(dir, id), id, set, book, log)
			kiosks[i] = k
			return err
		})
	}
	if err := g.Wait(); err != nil {
		closeFleet(kiosks)
		return nil, err
	}
	return kiosks, nil
}

func closeFleet(kiosks []*simKiosk) {
	var errs []error
	for _, k := range kiosks {
		if k != nil {
			errs = append(errs, k.journal.Close())
		}
	}
	if err := errors.Join(errs...); err != nil {
		slog.Error("close journals", "err", err)
	}
}

func allOnline(kiosks []*simKiosk) bool {
	for _, k := range kiosks {
		if !k.link.Status().Connected {
			return false
		}
	}
	return true
}

func allDrained(kiosks []*simKiosk) bool {
	for _, k := range kiosks {
		if !k.drained() {
			return false
		}
	}
	return true
}

// waitFor polls cond every 20 ms until it holds (true) or limit passes.
func waitFor(ctx context.Context, limit time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) || ctx.Err() != nil {
			return false
		}
		sleep(ctx, 20*time.Millisecond)
	}
	return true
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

func (b *broker) pidOrZero() int {
	if b == nil {
		return 0
	}
	return b.Pid()
}

// loadAvg describes how busy the machine is: the load averages and the
// share of the last minute in which some task waited for a CPU or for I/O
// (pressure stall information; absent on older kernels).
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	s := strings.Join(f[:min(3, len(f))], " ")
	for _, res := range []string{"cpu", "io"} {
		if p, ok := pressure(res); ok {
			s += fmt.Sprintf(", %s waiting %s%%", res, p)
		}
	}
	return s
}

// pressure returns the "some avg60" figure of /proc/pressure/res.
func pressure(res string) (string, bool) {
	b, err := os.ReadFile("/proc/pressure/" + res)
	if err != nil {
		return "", false
	}
	for _, field := range strings.Fields(string(b)) {
		if v, ok := strings.CutPrefix(field, "avg60="); ok {
			return v, true // the first line is "some"
		}
	}
	return "", false
}
