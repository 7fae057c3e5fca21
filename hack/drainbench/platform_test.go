package drainbench

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"kioskd/cloudlink/contract"
)

const (
	opTimeout = 10 * time.Second
	maxAckIDs = contract.MaxAckIDs // ids per ack message
)

var clientSeq atomic.Int64

// connect opens a clean-session paho client; it disconnects when b ends.
func connect(b *testing.B, url string, orderMatters bool) mqtt.Client {
	b.Helper()
	id := fmt.Sprintf("drainbench-%d-%d", time.Now().UnixNano(), clientSeq.Add(1))
	opts := mqtt.NewClientOptions().AddBroker(url).SetClientID(id).SetCleanSession(true).
		SetAutoReconnect(false).SetOrderMatters(orderMatters).
		SetConnectTimeout(opTimeout).SetWriteTimeout(opTimeout)
	c := mqtt.NewClient(opts)
	if err := wait(c.Connect()); err != nil {
		b.Fatalf("connect to %s: %v", url, err)
	}
	b.Cleanup(func() { c.Disconnect(100) })
	return c
}

func wait(tok mqtt.Token) error {
	if !tok.WaitTimeout(opTimeout) {
		return fmt.Errorf("no answer within %v", opTimeout)
	}
	return tok.Error()
}

// platform plays the police platform: it receives events on one connection
// and acks them in batches on another. (On one shared connection mosquitto's
// Nagle delay would add 40 ms to every ack round trip.)
type platform struct {
	acker  mqtt.Client
	topics contract.Topics
	key    ed25519.PrivateKey  // signs each ack; nil: bare, unsigned acks
	boots  contract.BootEpochs // the kiosk's boot, from its status
	ids    chan string         // received, to be acked
	failed atomic.Value

	mu       sync.Mutex
	seen     map[string]bool
	dups     int
	arrivals map[string]time.Time // alarm id → first arrival
}

func newPlatform(b *testing.B, url string, topics contract.Topics, key ed25519.PrivateKey) *platform {
	b.Helper()
	p := &platform{topics: topics, key: key, ids: make(chan string, 2*backlog),
		seen: map[string]bool{}, arrivals: map[string]time.Time{}}
	p.acker = connect(b, url, true)
	sub := connect(b, url, true)
	if err := wait(sub.Subscribe(topics.Events(), 1, p.onEvent)); err != nil {
		b.Fatalf("subscribe: %v", err)
	}
	onStatus := func(_ mqtt.Client, m mqtt.Message) { p.boots.SeeRetained(m.Payload()) }
	if err := wait(sub.Subscribe(topics.Status(), 1, onStatus)); err != nil {
		b.Fatalf("subscribe: %v", err)
	}
	return p
}

func (p *platform) onEvent(_ mqtt.Client, m mqtt.Message) {
	now := time.Now()
	var ev struct {
		ID   string `json:"id"`
		Type string `json:"type"`
	}
	if err := json.Unmarshal(m.Payload(), &ev); err != nil {
		p.fail(fmt.Errorf("event %q: %w", m.Payload(), err))
		return
	}
	p.mu.Lock()
	if p.seen[ev.ID] {
		p.dups++
	} else if ev.Type == alarmType {
		p.arrivals[ev.ID] = now
	}
	p.seen[ev.ID] = true
	p.mu.Unlock()
	select {
	case p.ids <- ev.ID:
	default:
		p.fail(fmt.Errorf("ack queue full"))
	}
}

// ackLoop acks what arrived, as many ids per message as are waiting.
func (p *platform) ackLoop(ctx context.Context) {
	for {
		var ids []string
		select {
		case id := <-p.ids:
			ids = append(ids, id)
		case <-ctx.Done():
			return
		}
	more:
		for len(ids) < maxAckIDs {
			select {
			case id := <-p.ids:
				ids = append(ids, id)
			default:
				break more
			}
		}
		b, err := p.ack(ids)
		if err != nil {
			p.fail(err)
			continue
		}
		if err := wait(p.acker.Publish(p.topics.Acks(), 1, false, b)); err != nil && ctx.Err() == nil {
			p.fail(fmt.Errorf("publish ack: %w", err))
		}
	}
}

// ack is the ack message for ids: signed for the kiosk's boot, or bare.
func (p *platform) ack(ids []string) ([]byte, error) {
	if p.key == nil {
		return json.Marshal(contract.Ack{V: contract.SchemaVersion, IDs: ids})
	}
	// The link publishes its status before any event: the boot is known.
	return contract.SignAck(p.key, contract.Ack{Kiosk: kioskID, BootEpoch: p.boots.Of(kioskID), IDs: ids})
}

func (p *platform) fail(err error) { p.failed.CompareAndSwap(nil, err) }

func (p *platform) err() error {
	err, _ := p.failed.Load().(error)
	return err
}

func (p *platform) arrival(id string) (time.Time, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	t, ok := p.arrivals[id]
	return t, ok
}

func (p *platform) duplicates() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.dups
}

// kiosk is the rest of the daemon, idle.
type kiosk struct{}

// Command answers nothing applied: the benchmark sends no commands.
func (kiosk) Command(context.Context, []byte) contract.Reply {
	return contract.Reply{V: contract.SchemaVersion, Kiosk: kioskID,
		Error: &contract.ReplyError{Code: contract.ErrRejected, Message: "drainbench takes no commands"}}
}

func (kiosk) Cameras() contract.CameraReport {
	return contract.CameraReport{V: contract.SchemaVersion, Kiosk: kioskID, Cameras: []contract.CameraStatus{}}
}

func (kiosk) State() contract.State {
	return contract.State{V: contract.SchemaVersion, Kiosk: kioskID, Incidents: []contract.Incident{}}
}

func (kiosk) AckRefused(_ context.Context, _ contract.Ack, aerr *contract.AckError) {
	panic("drainbench: ack refused: " + aerr.Error()) // the platform signs every ack
}

func (kiosk) Heartbeat() contract.Heartbeat {
	return contract.Heartbeat{V: contract.SchemaVersion, Kiosk: kioskID, AlarmPathHealthy: true}
}
