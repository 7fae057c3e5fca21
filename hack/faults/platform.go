package main

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"kioskd/cloudlink/contract"
)

const opTimeout = 2 * time.Second

var clientSeq atomic.Int64

// platform plays the police platform as GUARANTEES.md asks it to: it stores
// every event (in memory), dedupes by id, checks seq, and acks only after
// storing. It subscribes on one connection and acks on another: one shared
// connection would add mosquitto's Nagle delay to every round trip.
type platform struct {
	url    string
	kiosk  string
	topics contract.Topics
	acks   chan string
	key    ed25519.PrivateKey  // signs commands and acks
	pubPEM []byte              // the kiosk trusts this
	boots  contract.BootEpochs // the kiosk's boot, from its status: every ack names it

	// hold, while set, stores events without acking them (scenario corrupt).
	hold atomic.Bool

	mu       sync.Mutex
	byID     map[string]contract.Event // first arrival of each id
	bySeq    map[uint64]string         // seq → id
	arrivals int
	presses  int // distinct incident.registered and incident.pressed_again
	lastAt   time.Time
	problems []string // malformed events, a seq reused by another id
}

func newPlatform(url, kioskID string) (*platform, error) {
	topics, err := contract.NewTopics(contract.DefaultRoot, kioskID)
	if err != nil {
		return nil, err
	}
	pub, priv, err := contract.GenerateKeyPEM()
	if err != nil {
		return nil, err
	}
	key, err := contract.ParsePrivateKeyPEM(priv)
	if err != nil {
		return nil, err
	}
	return &platform{url: url, kiosk: kioskID, topics: topics, acks: make(chan string, 1<<16),
		key: key, pubPEM: pub, byID: map[string]contract.Event{}, bySeq: map[uint64]string{}}, nil
}

// writePublicKey writes the key the kiosk verifies commands with into dir.
func (p *platform) writePublicKey(dir string) (string, error) {
	path := filepath.Join(dir, "platform-key.pem")
	return path, os.WriteFile(path, p.pubPEM, 0o600)
}

// run keeps both connections up until ctx is done.
func (p *platform) run(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Go(func() { p.keepConnected(ctx, "sub", p.subscribed) })
	wg.Go(func() { p.keepConnected(ctx, "ack", p.acking) })
	wg.Wait()
}

// keepConnected connects, runs use until the connection is lost, and
// connects again after 100 ms, until ctx is done.
func (p *platform) keepConnected(ctx context.Context, role string, use func(context.Context, mqtt.Client, <-chan struct{})) {
	for ctx.Err() == nil {
		lost := make(chan struct{})
		var once sync.Once
		id := fmt.Sprintf("faults-platform-%s-%d", role, clientSeq.Add(1))
		opts := mqtt.NewClientOptions().AddBroker(p.url).SetClientID(id).
			SetCleanSession(true).SetAutoReconnect(false).SetOrderMatters(true).
			SetKeepAlive(5 * time.Second).SetPingTimeout(opTimeout).
			SetConnectTimeout(opTimeout).SetWriteTimeout(opTimeout).
			SetConnectionLostHandler(func(mqtt.Client, error) { once.Do(func() { close(lost) }) })
		c := mqtt.NewClient(opts)
		if err := mqtt.WaitTokenTimeout(c.Connect(), opTimeout); err == nil {
			use(ctx, c, lost)
		}
		c.Disconnect(0)
		select {
		case <-ctx.Done():
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// subscribed subscribes to the kiosk's events and waits for the end.
func (p *platform) subscribed(ctx context.Context, c mqtt.Client, lost <-chan struct{}) {
	// The status first: the kiosk publishes it on connect, before any event.
	tok := c.Subscribe(p.topics.Status(), 1, func(_ mqtt.Client, m mqtt.Message) { p.boots.SeeRetained(m.Payload()) })
	if mqtt.WaitTokenTimeout(tok, opTimeout) != nil {
		return
	}
	tok = c.Subscribe(p.topics.Events(), 1, func(_ mqtt.Client, m mqtt.Message) { p.store(m.Payload()) })
	if mqtt.WaitTokenTimeout(tok, opTimeout) != nil {
		return
	}
	select {
	case <-ctx.Done():
	case <-lost:
	}
}

// store records one arrival, then queues its ack. Duplicates are acked too:
// the kiosk sends again only because it did not hear the first ack.
func (p *platform) store(payload []byte) {
	var ev contract.Event
	err := json.Unmarshal(payload, &ev)
	p.mu.Lock()
	switch {
	case err != nil || ev.ID == "" || ev.Seq == 0:
		p.problems = append(p.problems, fmt.Sprintf("malformed event %.200q: %v", payload, err))
	default:
		p.record(ev)
	}
	p.mu.Unlock()
	if err != nil || p.hold.Load() {
		return
	}
	select {
	case p.acks <- ev.ID:
	default: // ack queue full: the kiosk sends it again, we ack then
	}
}

// record stores ev; the caller holds mu.
func (p *platform) record(ev contract.Event) {
	p.arrivals++
	p.lastAt = time.Now()
	if first, ok := p.byID[ev.ID]; ok {
		if first.Seq != ev.Seq {
			p.problems = append(p.problems, fmt.Sprintf("id %s came with seq %d and seq %d", ev.ID, first.Seq, ev.Seq))
		}
		return
	}
	if other, ok := p.bySeq[ev.Seq]; ok {
		p.problems = append(p.problems, fmt.Sprintf("seq %d reused: ids %s and %s", ev.Seq, other, ev.ID))
	}
	p.byID[ev.ID], p.bySeq[ev.Seq] = ev, ev.ID
	if ev.Type == "incident.registered" || ev.Type == "incident.pressed_again" {
		p.presses++
	}
}

// acking publishes queued acks in batches until the connection is lost.
// An ack that fails to go out is dropped: the kiosk sends the event again.
func (p *platform) acking(ctx context.Context, c mqtt.Client, lost <-chan struct{}) {
	for {
		var ids []string
		select {
		case <-ctx.Done():
			return
		case <-lost:
			return
		case id := <-p.acks:
			ids = p.batch(id)
		}
		// Signed for the boot of the kiosk's latest status. If it restarted
		// meanwhile, the ack is refused and the kiosk sends the events again.
		b, err := contract.SignAck(p.key, contract.Ack{Kiosk: p.kiosk, BootEpoch: p.boots.Of(p.kiosk), IDs: ids})
		if err != nil {
			continue // no status yet: the kiosk sends the events again
		}
		if mqtt.WaitTokenTimeout(c.Publish(p.topics.Acks(), 1, false, b), opTimeout) != nil {
			return
		}
	}
}

// batch returns first and up to 499 more queued ids.
func (p *platform) batch(first string) []string {
	ids := []string{first}
	for len(ids) < 500 {
		select {
		case id := <-p.acks:
			ids = append(ids, id)
		default:
			return ids
		}
	}
	return ids
}

// counts is what the platform has seen so far.
type counts struct {
	distinct, arrivals, presses int
	maxSeq                      uint64
	gaps                        int // seqs below maxSeq never seen
	lastAt                      time.Time
	problems                    []string
}

func (p *platform) counts() counts {
	p.mu.Lock()
	defer p.mu.Unlock()
	c := counts{distinct: len(p.byID), arrivals: p.arrivals, presses: p.presses,
		lastAt: p.lastAt, problems: append([]string(nil), p.problems...)}
	for s := range p.bySeq {
		c.maxSeq = max(c.maxSeq, s)
	}
	c.gaps = int(c.maxSeq) - len(p.bySeq)
	return c
}

// events returns every distinct event, in no particular order.
func (p *platform) events() []contract.Event {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Collect(maps.Values(p.byID))
}

// command sends one command to the kiosk on a connection of its own and
// waits for its reply, as doc.md asks of a platform: one command at a time,
// the same message again when no reply came (see commands.go).
func (p *platform) command(name string, args any) error {
	a, err := json.Marshal(args)
	if err != nil {
		return err
	}
	id := fmt.Sprintf("faults-cmd-%d", clientSeq.Add(1))
	// The counter is the clock in ns: it keeps rising across kioskd restarts.
	b, err := contract.SignCommand(p.key, contract.Command{V: contract.SchemaVersion, ID: id, Kiosk: p.kiosk,
		Name: name, Args: a, Counter: uint64(time.Now().UnixNano())})
	if err != nil {
		return err
	}
	return p.sendUntilAnswered(id, name, b)
}
