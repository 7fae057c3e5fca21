package cloudlink

import (
	"encoding/json"
	"slices"
	"sync"
	"testing"
	"time"

	"kioskd/cloudlink/contract"
	"kioskd/hack/brokertest"
)

// ackingPlatform plays a platform that acks every event it receives, in
// batches, on a connection of its own; it records first arrivals in order.
type ackingPlatform struct {
	mu      sync.Mutex
	arrived []arrival
	seen    map[string]bool
}

type arrival struct {
	ev contract.Event
	at time.Time
}

func startAckingPlatform(t *testing.T, url string, topics contract.Topics) *ackingPlatform {
	t.Helper()
	events := brokertest.Connect(t, url).Subscribe(topics.Events())
	acker := brokertest.Connect(t, url)
	p := &ackingPlatform{seen: map[string]bool{}}
	quit, stopped := make(chan struct{}), make(chan struct{})
	t.Cleanup(func() { close(quit); <-stopped }) // runs before the clients disconnect
	go func() {
		defer close(stopped)
		for {
			var batch []string
			select {
			case m := <-events:
				batch = append(batch, p.receive(t, m))
			case <-quit:
				return
			}
			for len(batch) < 500 && len(events) > 0 {
				batch = append(batch, p.receive(t, <-events))
			}
			acker.Publish(topics.Acks(), signedAck(t, testKey, testKiosk, testEpoch, batch...), false)
		}
	}()
	return p
}

func (p *ackingPlatform) receive(t *testing.T, m brokertest.Message) string {
	now := time.Now()
	var ev contract.Event
	if err := json.Unmarshal(m.Payload, &ev); err != nil {
		t.Errorf("event payload %q: %v", m.Payload, err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.seen[ev.ID] {
		p.seen[ev.ID] = true
		p.arrived = append(p.arrived, arrival{ev: ev, at: now})
	}
	return ev.ID
}

func (p *ackingPlatform) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.arrived)
}

func (p *ackingPlatform) arrivals() []arrival {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.arrived)
}

// A new alarm journaled while 5,000 events drain reaches the platform ahead
// of the backlog, and the backlog still arrives whole and in seq order.
func TestUrgentEventJumpsTheBacklog(t *testing.T) {
	const backlog = 5000
	broker := brokertest.Start(t)
	cfg := testConfig(t, broker.URL())
	outbox := newOutbox()
	outbox.add(backlog)
	platform := startAckingPlatform(t, broker.URL(), cfg.Topics)
	link, _ := runLink(t, cfg, outbox, newKiosk())

	waitFor(t, "the drain to be under way", func() bool { return platform.count() >= 500 })
	before := platform.count()
	urgent := outbox.addUrgent(1)[0]
	journaled := time.Now()
	link.Notify()
	waitFor(t, "every event acked", func() bool { return outbox.unacked() == 0 })

	all := platform.arrivals()
	pos := slices.IndexFunc(all, func(a arrival) bool { return a.ev.ID == urgent.ID })
	if pos < 0 {
		t.Fatalf("urgent event %s never arrived", urgent.ID)
	}
	latency := all[pos].at.Sub(journaled)
	t.Logf("urgent event: arrival %d of %d, %d had arrived when it was journaled, %v later",
		pos+1, len(all), before, latency)
	if limit := before + 2*link.cfg.Window; pos >= limit {
		t.Errorf("urgent arrival position: got %d, want below %d (behind at most the window)", pos, limit)
	}
	if latency > time.Second {
		t.Errorf("urgent latency: got %v, want under 1s", latency)
	}
	var seqs []uint64
	for _, a := range slices.Delete(all, pos, pos+1) {
		seqs = append(seqs, a.ev.Seq)
	}
	if len(seqs) != backlog || !slices.IsSorted(seqs) || seqs[0] != 1 {
		t.Errorf("backlog first arrivals: got %d, sorted %v, want %d in seq order from 1",
			len(seqs), slices.IsSorted(seqs), backlog)
	}
}

// An urgent event with a high seq in flight must not make the backlog
// before it look sent: the fill continues from the last seq it took.
func TestUrgentInFlightDoesNotHideTheBacklog(t *testing.T) {
	broker := brokertest.Start(t)
	cfg := testConfig(t, broker.URL())
	cfg.Window = 4
	cfg.AckTimeout = time.Minute
	platform := brokertest.Connect(t, broker.URL())
	events := platform.Subscribe(cfg.Topics.Events())
	outbox := newOutbox()
	outbox.add(10)
	link, _ := runLink(t, cfg, outbox, newKiosk())

	var got []uint64
	for range 4 {
		got = append(got, nextEvent(t, events).Seq)
	}
	outbox.addUrgent(1) // seq 11
	link.Notify()
	got = append(got, nextEvent(t, events).Seq) // beyond the full window
	expectNone(t, events, 300*time.Millisecond)
	sendAck(t, platform, cfg.Topics, "ev-1", "ev-2", "ev-11")
	for range 2 {
		got = append(got, nextEvent(t, events).Seq)
	}
	expectNone(t, events, 300*time.Millisecond)
	if want := []uint64{1, 2, 3, 4, 11, 5, 6}; !slices.Equal(got, want) {
		t.Errorf("seqs: got %v, want %v", got, want)
	}
}

// An ack the outbox fails to record leaves the events in flight: they are
// sent again at AckTimeout, acked again and then recorded.
func TestAckNotRecordedIsRetried(t *testing.T) {
	broker := brokertest.Start(t)
	cfg := testConfig(t, broker.URL())
	cfg.AckTimeout = 300 * time.Millisecond
	platform := brokertest.Connect(t, broker.URL())
	events := platform.Subscribe(cfg.Topics.Events())
	outbox := newOutbox()
	outbox.failAcks = 1
	outbox.add(2)
	link, _ := runLink(t, cfg, outbox, newKiosk())

	for range 2 {
		nextEvent(t, events)
	}
	sendAck(t, platform, cfg.Topics, "ev-1", "ev-2")
	for range 2 { // re-sent after the failed record
		ev := nextEvent(t, events)
		sendAck(t, platform, cfg.Topics, ev.ID)
	}
	waitFor(t, "both acked", func() bool { return outbox.unacked() == 0 })
	if got := link.Status().Resent; got < 2 {
		t.Errorf("resent: got %d, want at least 2", got)
	}
}
