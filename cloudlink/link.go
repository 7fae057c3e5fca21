// Package cloudlink keeps the kiosk's MQTT session with the police platform:
// it ships journal events until the platform acknowledges them, publishes
// availability, the open-incident state and the camera report, and hands
// platform commands to the kiosk, publishing the reply it gives. It speaks
// only in the types of cloudlink/contract; the rest of the daemon is reached
// through the Outbox and Kiosk interfaces. Checking a command (signature,
// address, replay, expiry, args) is the kiosk's (firmware/commands).
package cloudlink

import (
	"cmp"
	"context"
	"crypto/ed25519"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"kioskd/cloudlink/contract"
)

// Outbox is the durable journal seen from the link: events not yet
// acknowledged by the platform. Ack is called from another goroutine than
// Pending and Urgent, possibly at the same time.
type Outbox interface {
	// Pending returns up to limit unacked events with Seq > afterSeq, in seq order.
	Pending(afterSeq uint64, limit int) ([]contract.Event, error)
	// Urgent returns up to limit unacked events flagged urgent (new alarms),
	// in seq order. The link sends them ahead of the backlog.
	Urgent(limit int) ([]contract.Event, error)
	// Ack records that the platform stored these events. Unknown ids are ignored.
	Ack(ids []string) error
}

// Kiosk is the rest of the daemon seen from the link.
type Kiosk interface {
	// Command checks, applies and answers one message from the command
	// topic, as received: nothing in it is verified yet. It returns the
	// reply to publish; every command gets one. Called from one goroutine,
	// one command at a time, in arrival order.
	Command(ctx context.Context, payload []byte) contract.Reply
	// State returns the current open-incident snapshot to publish (retained).
	State() contract.State
	// Cameras returns the camera report to publish (retained) at every
	// connect and whenever it changes (checked at every Notify). A kiosk
	// without cameras returns a report with none.
	Cameras() contract.CameraReport
	// Heartbeat returns the kiosk's vital signs to publish (retained). The
	// link fills V, Kiosk, BootEpoch and Version when they are empty, and
	// AcksRefused always.
	Heartbeat() contract.Heartbeat
	// AckRefused records (and logs) an ack the link refused: nothing was
	// removed from the outbox. The ack is as the message claimed it
	// (unverified for a bad signature). Called from a goroutine of its own,
	// one at a time; reports beyond what it keeps up with are dropped, but
	// every refusal is counted in the heartbeat's AcksRefused.
	AckRefused(ctx context.Context, ack contract.Ack, refusal *contract.AckError)
}

// Config says where and as whom the link connects. Zero durations and sizes
// take the defaults noted.
type Config struct {
	Broker     string // "tcp://host:1883"; tls://, ssl://, mqtts:// dial TLS
	ClientID   string // default: KioskID
	Username   string
	Password   string // read from a file by the caller
	KioskID    string
	BootEpoch  uint64
	Version    string          // software version, put in Availability
	Topics     contract.Topics // default: contract.DefaultRoot for KioskID
	KeepAlive  time.Duration   // default 30s, at least 1s; quiet for 1.5 × this, a connection is dropped
	AckTimeout time.Duration   // re-send an unacked event after this; default 10s
	Window     int             // max backlog events in flight unacked, urgent ones may add as many; default 256
	BackoffMin time.Duration   // default 500ms
	BackoffMax time.Duration   // default 30s
	OpTimeout  time.Duration   // longest wait for one broker round trip; default 10s

	HeartbeatEvery time.Duration // period of the retained heartbeat; default 60s

	// Wake is the link's Notify, made before the link (NewWake) so that
	// parts built before it can wake it; nil makes one.
	Wake Wake

	// TLS: the CA the broker's certificate must chain to (system roots when
	// empty) and this kiosk's client certificate. Read again at every
	// connect, so renewed files take effect without a restart.
	TLS TLSFiles
	// AckKeys verify the platform's ack signatures; more than one while
	// keys rotate. An ack removes events from the outbox only if one of
	// them verifies it. With none, every ack is refused, unless
	// AllowUnsigned. (Commands are the Kiosk's to verify.)
	AckKeys []ed25519.PublicKey
	// AllowUnsigned, with no ack keys, takes unsigned acks (development
	// only: anyone who can publish can empty the outbox).
	AllowUnsigned bool
}

// defaultWindow is the number of backlog events in flight. Measured with
// hack/drainbench against mosquitto: 256 drains 100,000 events as fast as
// 512 does (about 26,000 a second), and a new alarm waits behind fewer
// events in the broker's queue (p99 about 22 ms against 55 ms).
// The window must also stay below the broker's queue for one subscriber
// (mosquitto's max_queued_messages and EMQX's max_mqueue_len default to
// 1,000): brokers PUBACK and then drop what overflows it, and every dropped
// event waits AckTimeout. Memory is about Window × (event size + 1 KB).
const defaultWindow = 256

// A session that lasted this long, or in which the platform acked something,
// was healthy: the next failure starts the backoff from BackoffMin again, so
// that after a broker restart an alarm waits a second, not the backoff's cap.
// A broker that takes connections and drops them at once still backs us off.
const stableSession = 10 * time.Second

func (c Config) withDefaults() Config {
	if c.ClientID == "" {
		c.ClientID = c.KioskID
	}
	if c.Topics.Root() == "" {
		c.Topics, _ = contract.NewTopics(contract.DefaultRoot, c.KioskID) // checked in Run
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.KeepAlive, 30*time.Second)
	def(&c.AckTimeout, 10*time.Second)
	def(&c.BackoffMin, 500*time.Millisecond)
	def(&c.BackoffMax, 30*time.Second)
	def(&c.OpTimeout, 10*time.Second)
	def(&c.HeartbeatEvery, time.Minute)
	if c.Window <= 0 {
		c.Window = defaultWindow
	}
	return c
}

func (c Config) check() error {
	switch {
	case !contract.ValidKioskID(c.KioskID):
		return fmt.Errorf("kiosk id %q: use 1-64 of a-z, 0-9 and '-'", c.KioskID)
	case c.Broker == "":
		return fmt.Errorf("no broker address")
	case c.Topics.Root() == "":
		return fmt.Errorf("no topic root")
	case c.KeepAlive < time.Second:
		return fmt.Errorf("keepalive %v: use at least 1s (MQTT counts it in seconds)", c.KeepAlive)
	case c.BackoffMax < c.BackoffMin:
		return fmt.Errorf("backoff max %v below min %v", c.BackoffMax, c.BackoffMin)
	}
	return nil
}

// Status is a snapshot of the link for health pages and logs.
type Status struct {
	Connected  bool      `json:"connected"`
	Since      time.Time `json:"since"`      // when Connected last changed
	Reconnects int       `json:"reconnects"` // sessions established after the first
	LastError  string    `json:"last_error"` // why the last session or connect attempt ended
	InFlight   int       `json:"in_flight"`  // events sent and not yet acked
	Resent     uint64    `json:"resent"`     // events sent again after AckTimeout without an ack, ever
	// CommandsBusy counts commands answered busy (queue full), ever;
	// InboundDropped the commands and acks dropped when even that was full.
	CommandsBusy   uint64 `json:"commands_busy"`
	InboundDropped uint64 `json:"inbound_dropped"`
	// AcksRefused counts acks refused (unsigned, bad signature, another
	// kiosk or boot, malformed), ever.
	AcksRefused uint64 `json:"acks_refused"`
}

// Link is the kiosk's connection to the platform. Build it with New and run it
// with Run; Notify and Status may be called from any goroutine.
type Link struct {
	cfg    Config
	outbox Outbox
	kiosk  Kiosk
	log    *slog.Logger
	notify Wake
	acks   atomic.Uint64 // platform acks received, ever: a session that got one was healthy
	busy   atomic.Uint64 // commands answered busy, ever
	drops  dropCount     // incoming messages dropped for full queues; see inbox.go

	acksRefused atomic.Uint64 // acks refused, ever: reported in the heartbeat and Status

	mu        sync.Mutex
	status    Status
	sessions  int
	lastState []byte // the State payload last published
}

// New builds a link; it does no I/O.
func New(cfg Config, outbox Outbox, kiosk Kiosk, log *slog.Logger) *Link {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Link{
		cfg:    cfg.withDefaults(),
		outbox: outbox,
		kiosk:  kiosk,
		log:    log,
		notify: cmp.Or(cfg.Wake, NewWake()),
	}
}

// Wake wakes a link: its Notify tells the link that the journal has new
// events or the state may have changed.
type Wake chan struct{}

// NewWake makes a Wake for Config.Wake.
func NewWake() Wake { return make(Wake, 1) }

// Notify wakes the link. It never blocks.
func (w Wake) Notify() {
	select {
	case w <- struct{}{}:
	default:
	}
}

// Notify tells the link that the journal has new events or the state may have
// changed. It never blocks.
func (l *Link) Notify() { l.notify.Notify() }

// Status returns a snapshot of the link.
func (l *Link) Status() Status {
	l.mu.Lock()
	st := l.status
	l.mu.Unlock()
	st.CommandsBusy, st.InboundDropped = l.busy.Load(), l.drops.count()
	st.AcksRefused = l.acksRefused.Load()
	return st
}

// Run connects and keeps reconnecting, with backoff, until ctx is done; then it
// publishes availability "stopped", disconnects and returns nil. It returns an
// error only for a configuration it can never connect with.
func (l *Link) Run(ctx context.Context) error {
	if err := l.cfg.check(); err != nil {
		return fmt.Errorf("cloudlink: %w", err)
	}
	attempt, downSince := 0, time.Now()
	for {
		start, acks, sessions := time.Now(), l.acks.Load(), l.sessionCount()
		err := l.session(ctx)
		l.setDisconnected(err)
		if ctx.Err() != nil {
			return nil
		}
		if l.sessionCount() != sessions {
			downSince = time.Now()
		}
		if time.Since(start) >= stableSession || l.acks.Load() != acks {
			attempt = 0
		}
		wait := backoff(l.cfg.BackoffMin, waitLimit(l.cfg, time.Since(downSince)), attempt, rand.Int64N)
		attempt++
		l.log.Warn("cloudlink: session ended", "err", err, "retry_in", wait)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

// waitLimit caps the backoff at how long the link has been down (at least
// BackoffMin): a refused connect fails at once, so attempts pile up in a
// short outage, yet a broker back after 2 s should see its kiosks within
// about 2 s, not after the 30 s cap (measured with hack/fleet).
func waitLimit(cfg Config, downFor time.Duration) time.Duration {
	return min(cfg.BackoffMax, max(cfg.BackoffMin, downFor))
}

func (l *Link) sessionCount() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.sessions
}

// backoff returns the wait before reconnect attempt n (0-based): full jitter,
// uniform in [0, min(max, min·2ⁿ)]. randN(k) returns a value in [0, k).
func backoff(min, max time.Duration, n int, randN func(int64) int64) time.Duration {
	ceil := min
	for i := 0; i < n && ceil > 0 && ceil < max; i++ {
		ceil *= 2
	}
	if ceil > max {
		ceil = max
	}
	if ceil <= 0 {
		return 0
	}
	return time.Duration(randN(int64(ceil) + 1))
}

func (l *Link) setConnected() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.sessions > 0 {
		l.status.Reconnects++
	}
	l.sessions++
	l.status.Connected = true
	l.status.Since = time.Now()
	l.status.InFlight = 0
}

func (l *Link) setDisconnected(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.status.Connected {
		l.status.Since = time.Now()
	}
	l.status.Connected = false
	l.status.InFlight = 0
	if err != nil {
		l.status.LastError = err.Error()
	}
}

func (l *Link) addResent(n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.status.Resent += uint64(n)
}

func (l *Link) setInFlight(n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.status.InFlight = n
}
