package drainbench

import (
	"cmp"
	"context"
	"crypto/ed25519"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"kioskd/cloudlink"
	"kioskd/cloudlink/contract"
	"kioskd/hack/brokertest"
)

// windows are the link's window sizes compared; 0 is the link's default, 256.
var windows = []int{0, 1024, 4096}

// BenchmarkDrain100k: the link connects to a journal holding 100,000
// pending events and a platform that acks everything in batches; the time
// runs until the journal has recorded every ack.
func BenchmarkDrain100k(b *testing.B) {
	for _, w := range windows {
		b.Run(windowName(w), func(b *testing.B) {
			var elapsed time.Duration
			var dups int
			var resent uint64
			for range b.N {
				r := drain(b, w, true, 0)
				elapsed += r.elapsed
				dups += r.dups
				resent += r.resent
			}
			b.ReportMetric(float64(b.N*backlog)/elapsed.Seconds(), "events/s")
			b.ReportMetric(float64(dups)/float64(b.N), "dups/op")
			b.ReportMetric(float64(resent)/float64(b.N), "resent/op")
		})
	}
}

// BenchmarkAlarmDuringDrain: as BenchmarkDrain100k, while an urgent alarm is
// journaled every 20 ms; reports the alarms' latency from the start of their
// journal append to their arrival at the platform, and the append's own p99
// (it waits for the link's ack transactions: bbolt has one writer).
func BenchmarkAlarmDuringDrain(b *testing.B) {
	for _, w := range windows {
		b.Run(windowName(w), func(b *testing.B) {
			var elapsed time.Duration
			var lat, appends []time.Duration
			for range b.N {
				r := drain(b, w, true, 20*time.Millisecond)
				elapsed += r.elapsed
				lat = append(lat, r.latencies...)
				appends = append(appends, r.appends...)
			}
			slices.Sort(lat)
			slices.Sort(appends)
			b.ReportMetric(float64(b.N*backlog)/elapsed.Seconds(), "events/s")
			b.ReportMetric(ms(lat[len(lat)/2]), "p50-ms")
			b.ReportMetric(ms(lat[len(lat)*99/100]), "p99-ms")
			b.ReportMetric(ms(lat[len(lat)-1]), "max-ms")
			b.ReportMetric(ms(appends[len(appends)*99/100]), "append-p99-ms")
			b.ReportMetric(float64(len(lat))/float64(b.N), "alarms/op")
		})
	}
}

// BenchmarkDrainAcks100k: BenchmarkDrain100k at the default window, with
// signed acks (as in production: Ed25519, verified by the link before
// anything leaves the outbox) and with bare unsigned acks (allow_unsigned),
// side by side: each op drains once each way, the order alternating, so
// that both see the same load on a busy machine. Reports both rates and
// their ratio (signed / unsigned).
func BenchmarkDrainAcks100k(b *testing.B) {
	var unsigned, signed time.Duration
	for range b.N {
		drainAcksOps++ // across -count runs too
		first := drainAcksOps%2 == 0
		for _, s := range []bool{first, !first} {
			r := drain(b, 0, s, 0)
			if s {
				signed += r.elapsed
			} else {
				unsigned += r.elapsed
			}
		}
	}
	b.ReportMetric(float64(b.N*backlog)/unsigned.Seconds(), "unsigned-events/s")
	b.ReportMetric(float64(b.N*backlog)/signed.Seconds(), "signed-events/s")
	b.ReportMetric(unsigned.Seconds()/signed.Seconds(), "signed/unsigned")
}

// drainAcksOps counts BenchmarkDrainAcks100k's ops, to alternate which
// kind of ack drains first.
var drainAcksOps int

func windowName(w int) string {
	if w == 0 {
		return "window=default"
	}
	return fmt.Sprintf("window=%d", w)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

type drainResult struct {
	elapsed   time.Duration
	dups      int
	resent    uint64
	latencies []time.Duration // of the alarms, append → platform
	appends   []time.Duration // of the alarms' journal appends
}

// drain runs one drain of a fresh backlog copy to a fresh mosquitto, with an
// urgent alarm every alarmEvery (none if 0).
func drain(b *testing.B, window int, signed bool, alarmEvery time.Duration) drainResult {
	b.StopTimer()
	o, p, link := setUp(b, window, signed)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go p.ackLoop(ctx)

	b.StartTimer()
	start := time.Now()
	ran := make(chan error, 1)
	go func() { ran <- link.Run(ctx) }()
	al := &alarms{sent: map[string]time.Time{}}
	if alarmEvery > 0 {
		al.start(ctx, o, link, alarmEvery)
	}
	select {
	case <-o.drained:
	case <-time.After(drainLimit):
		b.Fatalf("backlog not drained within %v: %d of %d acked", drainLimit, o.acked.Load(), backlog)
	}
	r := drainResult{elapsed: time.Since(start)}
	b.StopTimer()
	al.stop()
	r.latencies, r.appends = al.latencies(b, p), al.appends
	cancel()
	if err := cmp.Or(<-ran, p.err()); err != nil {
		b.Fatal(err)
	}
	r.dups, r.resent = p.duplicates(), link.Status().Resent
	return r
}

// setUp starts a mosquitto, copies the backlog journal and connects a
// platform that signs its acks (or sends them bare to a link that allows
// that); the link is built, not run.
func setUp(b *testing.B, window int, signed bool) (*outbox, *platform, *cloudlink.Link) {
	url := brokertest.Start(b).URL()
	j := openBacklog(b)
	o := newOutbox(j)
	topics, err := contract.NewTopics(contract.DefaultRoot, kioskID)
	if err != nil {
		b.Fatal(err)
	}
	cfg := cloudlink.Config{Broker: url, KioskID: kioskID, BootEpoch: j.BootEpoch(), Topics: topics, Window: window,
		AllowUnsigned: !signed}
	var key ed25519.PrivateKey
	if signed {
		var pub ed25519.PublicKey
		if pub, key, err = ed25519.GenerateKey(nil); err != nil {
			b.Fatal(err)
		}
		cfg.AckKeys = []ed25519.PublicKey{pub}
	}
	p := newPlatform(b, url, topics, key)
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	return o, p, cloudlink.New(cfg, o, kiosk{}, log)
}

// alarms journals an urgent alarm at a steady pace and remembers when.
type alarms struct {
	wg   sync.WaitGroup
	quit chan struct{}

	mu      sync.Mutex
	sent    map[string]time.Time // alarm id → when its append began
	appends []time.Duration      // how long each append took
	err     error                // the first append error
}

func (a *alarms) start(ctx context.Context, o *outbox, link *cloudlink.Link, every time.Duration) {
	a.quit = make(chan struct{})
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-a.quit:
				return
			case <-tick.C:
			}
			a.raise(o, link)
		}
	}()
}

func (a *alarms) raise(o *outbox, link *cloudlink.Link) {
	start := time.Now()
	id, err := o.appendAlarm()
	took := time.Since(start)
	link.Notify()
	a.mu.Lock()
	defer a.mu.Unlock()
	if err != nil {
		a.err = cmp.Or(a.err, err)
		return
	}
	a.sent[id] = start
	a.appends = append(a.appends, took)
}

func (a *alarms) stop() {
	if a.quit != nil {
		close(a.quit)
	}
	a.wg.Wait()
}

// latencies waits, at most 10 s, for every alarm to reach the platform.
func (a *alarms) latencies(b *testing.B, p *platform) []time.Duration {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.err != nil {
		b.Fatalf("journal an alarm: %v", a.err)
	}
	var lat []time.Duration
	deadline := time.Now().Add(10 * time.Second)
	for id, sent := range a.sent {
		for {
			if got, ok := p.arrival(id); ok {
				lat = append(lat, got.Sub(sent))
				break
			}
			if time.Now().After(deadline) {
				b.Fatalf("alarm %s not at the platform 10 s after the drain", id)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	return lat
}
