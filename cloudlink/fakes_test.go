package cloudlink

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"kioskd/cloudlink/contract"
	"kioskd/hack/brokertest"
)

// testKey signs the tests' acks; testConfig trusts it. otherKey is a key
// the kiosk does not trust.
var (
	testKey  = ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	otherKey = ed25519.NewKeyFromSeed([]byte("another platform, never trusted."))
)

// sealRaw wraps exactly these command bytes in a signed envelope.
func sealRaw(key ed25519.PrivateKey, command []byte) []byte {
	b, _ := json.Marshal(contract.SignedCommand{
		V:       contract.SchemaVersion,
		Payload: base64.StdEncoding.EncodeToString(command),
		Sig:     base64.StdEncoding.EncodeToString(ed25519.Sign(key, command)),
	})
	return b
}

func seal(command string) string { return string(sealRaw(testKey, []byte(command))) }

const (
	testKiosk = "kiosk-test-1"
	testEpoch = 7
	waitLong  = 10 * time.Second // upper bound for anything the tests wait for
)

// memOutbox is an in-memory Outbox: a slice of events, a set of acked ids and
// a set of urgent ids.
type memOutbox struct {
	mu       sync.Mutex
	events   []contract.Event
	acked    map[string]bool
	urgent   map[string]bool
	ackCalls int
	failAcks int // the next failAcks Ack calls fail
}

func newOutbox() *memOutbox {
	return &memOutbox{acked: map[string]bool{}, urgent: map[string]bool{}}
}

// add journals n events with consecutive seqs and returns them.
func (o *memOutbox) add(n int) []contract.Event { return o.addEvents(n, false) }

// addUrgent journals n urgent events (new alarms) and returns them.
func (o *memOutbox) addUrgent(n int) []contract.Event { return o.addEvents(n, true) }

func (o *memOutbox) addEvents(n int, urgent bool) []contract.Event {
	o.mu.Lock()
	defer o.mu.Unlock()
	var added []contract.Event
	for range n {
		seq := uint64(len(o.events) + 1)
		ev := contract.Event{
			V: contract.SchemaVersion, ID: fmt.Sprintf("ev-%d", seq), Kiosk: testKiosk,
			BootEpoch: testEpoch, Seq: seq, Type: "button.pressed", Incident: "inc-1",
			Time: time.Date(2024, 5, 1, 10, 0, int(seq%60), 0, time.UTC), ClockSynced: true,
			Data: json.RawMessage(fmt.Sprintf(`{"button":"police","n":%d}`, seq)),
		}
		o.events = append(o.events, ev)
		o.urgent[ev.ID] = urgent
		added = append(added, ev)
	}
	return added
}

func (o *memOutbox) Urgent(limit int) ([]contract.Event, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []contract.Event
	for _, ev := range o.events {
		if len(out) == limit {
			break
		}
		if o.urgent[ev.ID] && !o.acked[ev.ID] {
			out = append(out, ev)
		}
	}
	return out, nil
}

func (o *memOutbox) Pending(afterSeq uint64, limit int) ([]contract.Event, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []contract.Event
	for _, ev := range o.events {
		if len(out) == limit {
			break
		}
		if ev.Seq > afterSeq && !o.acked[ev.ID] {
			out = append(out, ev)
		}
	}
	return out, nil
}

func (o *memOutbox) Ack(ids []string) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.ackCalls++
	if o.failAcks > 0 {
		o.failAcks--
		return errors.New("outbox: disk on fire")
	}
	for _, id := range ids {
		o.acked[id] = true
	}
	return nil
}

func (o *memOutbox) unacked() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.events) - len(o.acked)
}

// fakeKiosk records the command payloads handed to it and answers each
// with reply and result. It verifies nothing: that is the kiosk's
// (firmware/commands), not the link's.
type fakeKiosk struct {
	mu          sync.Mutex
	payloads    [][]byte             // each command payload, as received
	reply       *contract.ReplyError // the error every command gets; nil: ok
	result      json.RawMessage      // the result of an ok reply
	ackRefusals []string             // the code of each refused ack reported
	state       contract.State
	cameras     contract.CameraReport
	heartbeat   contract.Heartbeat
	beats       int // Heartbeat calls
}

func (k *fakeKiosk) Heartbeat() contract.Heartbeat {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.beats++
	hb := k.heartbeat
	hb.UptimeSeconds = int64(k.beats) // tells one heartbeat from the next
	return hb
}

func (k *fakeKiosk) Command(_ context.Context, payload []byte) contract.Reply {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.payloads = append(k.payloads, payload)
	cmd, _ := contract.DecodeUnsignedCommand(payload) // its claimed id, for the reply
	r := contract.Reply{V: contract.SchemaVersion, Command: cmd.ID, Kiosk: testKiosk, OK: k.reply == nil, Error: k.reply}
	if r.OK {
		r.Result = k.result
	}
	return r
}

func (k *fakeKiosk) AckRefused(_ context.Context, a contract.Ack, aerr *contract.AckError) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.ackRefusals = append(k.ackRefusals, aerr.Code)
}

// refusedAcks lists the code of each refused ack reported, in order.
func (k *fakeKiosk) refusedAcks() []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]string(nil), k.ackRefusals...)
}

func (k *fakeKiosk) State() contract.State {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.state
}

func (k *fakeKiosk) setState(st contract.State) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.state = st
}

func (k *fakeKiosk) Cameras() contract.CameraReport {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.cameras
}

func (k *fakeKiosk) setCameras(cr contract.CameraReport) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.cameras = cr
}

// received returns the command payloads handed to the kiosk so far.
func (k *fakeKiosk) received() [][]byte {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([][]byte(nil), k.payloads...)
}

// commands returns the commands handed to the kiosk so far, as they claim
// to be.
func (k *fakeKiosk) commands() []contract.Command {
	var out []contract.Command
	for _, p := range k.received() {
		cmd, _ := contract.DecodeUnsignedCommand(p)
		out = append(out, cmd)
	}
	return out
}

func newKiosk() *fakeKiosk {
	return &fakeKiosk{state: contract.State{
		V: contract.SchemaVersion, Kiosk: testKiosk, BootEpoch: testEpoch,
		Time: time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC), Incidents: []contract.Incident{},
	}, cameras: contract.CameraReport{V: contract.SchemaVersion, Kiosk: testKiosk, BootEpoch: testEpoch,
		Cameras: []contract.CameraStatus{}}}
}

// testConfig is a config with short timers for tests.
func testConfig(t *testing.T, broker string) Config {
	t.Helper()
	topics, err := contract.NewTopics(contract.DefaultRoot, testKiosk)
	if err != nil {
		t.Fatal(err)
	}
	return Config{
		Broker: broker, KioskID: testKiosk, BootEpoch: testEpoch, Version: "1.2.3-test",
		Topics: topics, KeepAlive: 5 * time.Second, AckTimeout: 5 * time.Second,
		BackoffMin: 20 * time.Millisecond, BackoffMax: 200 * time.Millisecond,
		OpTimeout: 2 * time.Second,
		AckKeys:   []ed25519.PublicKey{testKey.Public().(ed25519.PublicKey)},
	}
}

// runLink runs a link until the returned stop is called or the test ends;
// stop cancels Run and fails the test unless it returns nil promptly.
func runLink(t *testing.T, cfg Config, o Outbox, k Kiosk) (*Link, func()) {
	t.Helper()
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	l := New(cfg, o, k, log)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run returned %v, want nil after cancel", err)
				}
			case <-time.After(waitLong):
				t.Errorf("Run did not return within %v of cancel", waitLong)
			}
		})
	}
	t.Cleanup(stop)
	return l, stop
}

// testWriter sends log lines to t.Log so they show only for failing tests.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// waitFor polls cond every 10 ms until it holds, failing the test after waitLong.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLong)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", waitLong, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// nextEvent receives and decodes the next message on an events subscription.
func nextEvent(t *testing.T, ch <-chan brokertest.Message) contract.Event {
	t.Helper()
	m := brokertest.Next(t, ch, waitLong)
	var ev contract.Event
	if err := json.Unmarshal(m.Payload, &ev); err != nil {
		t.Fatalf("event payload %q: %v", m.Payload, err)
	}
	return ev
}

// sendAck publishes a platform ack for ids, signed with testKey for the
// test kiosk's boot.
func sendAck(t *testing.T, p *brokertest.Client, topics contract.Topics, ids ...string) {
	t.Helper()
	p.Publish(topics.Acks(), signedAck(t, testKey, testKiosk, testEpoch, ids...), false)
}

// signedAck is an ack for ids signed with key for kiosk in boot.
func signedAck(t testing.TB, key ed25519.PrivateKey, kiosk string, boot uint64, ids ...string) []byte {
	t.Helper()
	b, err := contract.SignAck(key, contract.Ack{Kiosk: kiosk, BootEpoch: boot, IDs: ids})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// expectNone fails if ch delivers anything within d.
func expectNone(t *testing.T, ch <-chan brokertest.Message, d time.Duration) {
	t.Helper()
	select {
	case m := <-ch:
		t.Fatalf("got message on %s: %s, want none", m.Topic, m.Payload)
	case <-time.After(d):
	}
}
