// Package console is the reference station console: what a police platform
// does with the kiosk contract (kioskd/cloudlink/contract), and nothing the
// contract does not say. It takes every kiosk's events through an MQTT shared
// subscription, stores each durably in its own bbolt file before acking it,
// dedupes by event id, watches for seq gaps, follows the retained status,
// heartbeat and state of every kiosk, sends signed commands, and shows it all
// on a small web page. It imports nothing of the product but the contract.
//
// For a platform vendor, the files to read:
//
//	mqtt.go      the two connections and the subscriptions (shared for events, plain for retained topics)
//	intake.go    store every event, fsynced, then ack it; duplicates are acked again
//	store.go     dedupe by event id; seqs per kiosk, a new sequence when a kiosk's journal restarts
//	gaps.go      seq gaps, reported once they outlast a grace period
//	commands.go  signed commands with a rising counter, and their replies
//	courier.go   each kiosk's commands one at a time, the same message again on no reply
//	fleet.go     status, heartbeat, state and cameras: the last word of each kiosk
//	rollout.go   self-tests and updates sent to many kiosks, in waves, followed by their events
//
// Several instances in one group share the events, each storing its share
// in its own file; a real platform would give its workers one database, so
// that a re-send reaching another worker is still deduped.
package console

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"golang.org/x/sync/errgroup"

	"kioskd/cloudlink/contract"
)

// Config is one station instance.
type Config struct {
	Broker     string             // e.g. tcp://127.0.0.1:1883
	Username   string             // optional
	Password   string             // optional
	TopicRoot  string             // the kiosks' root template; default contract.DefaultRoot
	Group      string             // shared subscription group; default "station"
	ClientID   string             // prefix of the two MQTT client ids; default station-HOST-PID
	Key        ed25519.PrivateKey // signs every command
	DBPath     string             // the station's bbolt file
	GapGrace   time.Duration      // how long a missing seq may be on its way; default 10 s
	CommandTTL time.Duration      // commands expire this long after sending; 0: never
	UploadDir  string             // where clips asked for with upload_clip arrive; empty: not received here
	Log        *slog.Logger

	// ResendAfter: a command unanswered this long is sent again, the same
	// message (courier.go); default a third of replyWait, 10 s.
	ResendAfter time.Duration
}

// Console is one running station instance.
type Console struct {
	cfg   Config
	root  topicRoot
	log   *slog.Logger
	store *Store

	sub, pub   atomic.Pointer[mqtt.Client] // receiving and publishing connections
	subscribed atomic.Bool                 // the receiving connection holds its subscriptions
	intake     chan Received               // events from paho, to the storing loop
	dropped    atomic.Uint64               // events refused because intake was full
	boots      contract.BootEpochs         // each kiosk's boot, from status and heartbeat: acks name it

	mu       sync.Mutex
	fleet    map[string]*kioskInfo
	gaps     *GapTracker
	commands map[string]*Sent
	recent   []Received // the last events stored, newest last
	counts   counts
	version  uint64
	change   chan struct{} // closed and replaced on every change

	rollouts    map[string]*Rollout // fleet operations (rollout.go), guarded by mu
	rolloutPoke chan struct{}       // wakes runRollouts

	post couriers // each kiosk's commands, one at a time (courier.go)
}

type counts struct {
	Stored     uint64 `json:"stored"`     // new events stored since start
	Duplicates uint64 `json:"duplicates"` // events received again and acked again
	Dropped    uint64 `json:"dropped"`    // events not taken (intake full); the kiosk re-sends them
	StoreFails uint64 `json:"store_fails"`
}

// DefaultCommandTTL is how long a command stays valid: long enough for a
// slow link, short enough that a command held back by an attacker or a
// broker is refused rather than applied long after it was meant (enforced
// by a kiosk whose clock is synchronised).
const DefaultCommandTTL = 2 * time.Minute

// intakeSize bounds the events waiting to be stored. When it is full an event
// is dropped unacked; its kiosk re-sends it after its ack timeout.
const intakeSize = 4096

// Open checks the config, opens the store and rebuilds gap tracking and the
// command log from it. It does not touch the network.
func Open(cfg Config) (*Console, error) {
	if cfg.TopicRoot == "" {
		cfg.TopicRoot = contract.DefaultRoot
	}
	if cfg.Group == "" {
		cfg.Group = "station"
	}
	if cfg.ClientID == "" {
		host, _ := os.Hostname()
		cfg.ClientID = fmt.Sprintf("station-%s-%d", host, os.Getpid())
	}
	if cfg.GapGrace == 0 {
		cfg.GapGrace = 10 * time.Second
	}
	if cfg.ResendAfter <= 0 {
		cfg.ResendAfter = replyWait / sendTries
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if len(cfg.Key) != ed25519.PrivateKeySize {
		return nil, errors.New("station: an Ed25519 private key is needed to sign commands")
	}
	root, err := newTopicRoot(cfg.TopicRoot)
	if err != nil {
		return nil, fmt.Errorf("station: %w", err)
	}
	store, err := OpenStore(cfg.DBPath)
	if err != nil {
		return nil, err
	}
	c := &Console{cfg: cfg, root: root, log: cfg.Log, store: store,
		intake: make(chan Received, intakeSize), fleet: map[string]*kioskInfo{},
		gaps: NewGapTracker(), commands: map[string]*Sent{}, change: make(chan struct{})}
	if err := c.load(); err != nil {
		store.Close()
		return nil, err
	}
	return c, nil
}

// load rebuilds the in-memory state from the store. Gaps found here start
// their grace now.
func (c *Console) load() error {
	spans, err := c.store.Seqs()
	if err != nil {
		return fmt.Errorf("station: read seqs: %w", err)
	}
	now := time.Now()
	for _, s := range spans {
		for _, seq := range s.Seqs {
			c.gaps.Add(s.Kiosk, s.Gen, seq, now)
		}
	}
	sent, err := c.store.Commands()
	if err != nil {
		return fmt.Errorf("station: read commands: %w", err)
	}
	for i := range sent {
		c.commands[sent[i].ID] = &sent[i]
	}
	return c.loadRollouts()
}

// Store is the station's store, for tests and audits.
func (c *Console) Store() *Store { return c.store }

// Close closes the store; call it after Run has returned.
func (c *Console) Close() error { return c.store.Close() }

// Run connects both MQTT connections and stores and acks events until ctx
// is done. A cancelled ctx is not an error.
func (c *Console) Run(ctx context.Context) error {
	pub, err := c.connect(ctx, "pub", func(mqtt.Client) { c.changed() })
	if err != nil {
		return ignoreCancel(ctx, err)
	}
	c.pub.Store(&pub)
	defer pub.Disconnect(250)
	sendCtx, stopSending := context.WithCancel(ctx)
	c.post.open(sendCtx)
	defer c.post.close()
	defer stopSending()
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { c.storeLoop(ctx); return nil })
	g.Go(func() error { c.runRollouts(ctx); return nil })
	sub, err := c.connect(ctx, "sub", c.subscribeAll)
	if err != nil {
		cancelErr := ignoreCancel(ctx, err)
		_ = g.Wait()
		return cancelErr
	}
	c.sub.Store(&sub)
	defer sub.Disconnect(250)
	g.Go(func() error { c.tick(ctx); return nil })
	return g.Wait()
}

func ignoreCancel(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// tick marks a change each second while a gap is in its grace period, so
// that pages show it as soon as it becomes a finding.
func (c *Console) tick(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			c.mu.Lock()
			now := time.Now()
			pending := len(c.gaps.Gaps(now, 0)) > len(c.gaps.Gaps(now, c.cfg.GapGrace))
			c.mu.Unlock()
			if pending {
				c.changed()
			}
		}
	}
}

// changed tells live pages that something changed.
func (c *Console) changed() {
	c.mu.Lock()
	c.version++
	close(c.change)
	c.change = make(chan struct{})
	c.mu.Unlock()
}

// watch returns the current version and a channel closed at the next change.
func (c *Console) watch() (uint64, <-chan struct{}) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.version, c.change
}
