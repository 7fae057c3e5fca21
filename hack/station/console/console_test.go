package console

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"kioskd/cloudlink/contract"
	"kioskd/hack/brokertest"
)

const waitLong = 15 * time.Second

// startConsole runs a station on broker url in group until the test ends.
func startConsole(t testing.TB, url, group string, grace time.Duration) (*Console, ed25519.PublicKey) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := Open(Config{Broker: url, Group: group, Key: priv, GapGrace: grace,
		ClientID: fmt.Sprintf("test-%s-%d", group, time.Now().UnixNano()),
		DBPath:   filepath.Join(t.TempDir(), "station.db"),
		Log:      slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("console Run: %v", err)
		}
		c.Close()
	})
	waitFor(t, "the console to subscribe", c.Connected)
	return c, pub
}

func waitFor(t testing.TB, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLong)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func publishEvent(kiosk *brokertest.Client, r Received) {
	kiosk.Publish("gongzhi/v1/"+r.Kiosk+"/events", r.Payload, false)
}

// announce publishes each kiosk's retained status (boot 1), as a kiosk does
// on connect, and waits until every console knows the boot: acks name it.
func announce(t testing.TB, client *brokertest.Client, consoles []*Console, kiosks ...string) {
	t.Helper()
	for _, k := range kiosks {
		b, _ := json.Marshal(contract.Availability{V: 1, Kiosk: k, State: contract.Online, BootEpoch: 1})
		client.Publish("gongzhi/v1/"+k+"/status", b, true)
		for _, c := range consoles {
			waitFor(t, "the console to see "+k+"'s status", func() bool { return c.boots.Of(k) == 1 })
		}
	}
}

// openAck checks an ack message from the kiosk's ack topic: signed by one of
// keys, for that kiosk in boot 1.
func openAck(t testing.TB, m brokertest.Message, keys ...ed25519.PublicKey) contract.Ack {
	t.Helper()
	kiosk := strings.TrimSuffix(strings.TrimPrefix(m.Topic, "gongzhi/v1/"), "/ack")
	a, err := contract.OpenAck(m.Payload, keys, kiosk, 1)
	if err != nil {
		t.Errorf("ack %s on %s: %v", m.Payload, m.Topic, err)
	}
	return a
}

// ackChecker reads acks and checks, at the moment each arrives, that every
// id in it is already in one of the stores.
type ackChecker struct {
	mu    sync.Mutex
	acked map[string]int // id → times acked
	keys  []ed25519.PublicKey
}

func checkAcks(t *testing.T, acks <-chan brokertest.Message, keys []ed25519.PublicKey, stores ...*Store) *ackChecker {
	a := &ackChecker{acked: map[string]int{}, keys: keys}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	t.Cleanup(func() { cancel(); <-done })
	go func() {
		defer close(done)
		for {
			select {
			case <-ctx.Done():
				return
			case m := <-acks:
				a.check(t, m, stores)
			}
		}
	}()
	return a
}

func (a *ackChecker) check(t *testing.T, m brokertest.Message, stores []*Store) {
	for _, id := range openAck(t, m, a.keys...).IDs {
		found := false
		for _, s := range stores {
			if ok, _ := s.Has(id); ok {
				found = true
			}
		}
		if !found {
			t.Errorf("event %s was acked before it was stored", id)
		}
		a.mu.Lock()
		a.acked[id]++
		a.mu.Unlock()
	}
}

func (a *ackChecker) count(id string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.acked[id]
}

func (a *ackChecker) distinct() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.acked)
}

func TestStoresBeforeAckAndDedupes(t *testing.T) {
	broker := brokertest.Start(t)
	c, pub := startConsole(t, broker.URL(), "station", time.Minute)
	kiosk := brokertest.Connect(t, broker.URL())
	announce(t, kiosk, []*Console{c}, "k1")
	acks := checkAcks(t, kiosk.Subscribe("gongzhi/v1/k1/ack"), []ed25519.PublicKey{pub}, c.Store())

	const n = 50
	for seq := uint64(1); seq <= n; seq++ {
		publishEvent(kiosk, event("k1", seq, "incident.registered", "inc-1"))
	}
	waitFor(t, "every event acked", func() bool { return acks.distinct() == n })
	dup := event("k1", 7, "incident.registered", "inc-1")
	publishEvent(kiosk, dup) // a re-send: acked again, stored once
	waitFor(t, "the re-sent event acked again", func() bool { return acks.count(dup.Event.ID) == 2 })

	if got, _ := c.Store().CountEvents(); got != n {
		t.Errorf("stored: got %d events, want %d", got, n)
	}
	v := c.View()
	if v.Counts.Stored != n || v.Counts.Duplicates != 1 {
		t.Errorf("counts: got %+v, want %d stored and 1 duplicate", v.Counts, n)
	}
}

func TestSeqGapShownAfterGrace(t *testing.T) {
	broker := brokertest.Start(t)
	const grace = 500 * time.Millisecond
	c, pub := startConsole(t, broker.URL(), "station", grace)
	kiosk := brokertest.Connect(t, broker.URL())
	announce(t, kiosk, []*Console{c}, "k1")
	acks := checkAcks(t, kiosk.Subscribe("gongzhi/v1/k1/ack"), []ed25519.PublicKey{pub}, c.Store())

	for _, seq := range []uint64{1, 2, 5, 6} {
		publishEvent(kiosk, event("k1", seq, "fault.raised", ""))
	}
	waitFor(t, "4 events acked", func() bool { return acks.distinct() == 4 })
	if gaps := c.View().Gaps; len(gaps) != 0 {
		t.Errorf("gaps within the grace period: got %+v, want none yet", gaps)
	}
	waitFor(t, "the gap to be reported", func() bool { return len(c.View().Gaps) == 1 })
	if g := c.View().Gaps[0]; g.Kiosk != "k1" || g.From != 3 || g.To != 4 {
		t.Errorf("gap: got %+v, want k1 3-4", g)
	}
	publishEvent(kiosk, event("k1", 3, "fault.raised", ""))
	publishEvent(kiosk, event("k1", 4, "fault.raised", ""))
	waitFor(t, "the late events to fill the gap", func() bool { return len(c.View().Gaps) == 0 })
}

func TestSharedGroupSplitsEventsAndStoresEachOnce(t *testing.T) {
	broker := brokertest.Start(t)
	a, pubA := startConsole(t, broker.URL(), "pair", time.Minute)
	b, pubB := startConsole(t, broker.URL(), "pair", time.Minute)
	kiosk := brokertest.Connect(t, broker.URL())
	announce(t, kiosk, []*Console{a, b}, "k1", "k2")
	acks := checkAcks(t, kiosk.Subscribe("gongzhi/v1/+/ack"), []ed25519.PublicKey{pubA, pubB}, a.Store(), b.Store())

	const n = 200
	want := map[string]bool{}
	for seq := uint64(1); seq <= n; seq++ {
		for _, k := range []string{"k1", "k2"} {
			r := event(k, seq, "incident.registered", "inc-"+k)
			want[r.Event.ID] = true
			publishEvent(kiosk, r)
		}
	}
	waitFor(t, "every event acked", func() bool { return acks.distinct() == len(want) })

	idsA, _ := a.Store().EventIDs()
	idsB, _ := b.Store().EventIDs()
	if len(idsA) == 0 || len(idsB) == 0 {
		t.Errorf("split: instance a stored %d, b %d; want both to take a share", len(idsA), len(idsB))
	}
	seen := map[string]int{}
	for _, id := range append(idsA, idsB...) {
		seen[id]++
	}
	for id := range want {
		if seen[id] != 1 {
			t.Errorf("event %s stored %d times across the group, want once", id, seen[id])
		}
	}
	if len(seen) != len(want) {
		t.Errorf("stored %d distinct events, want %d", len(seen), len(want))
	}
	t.Logf("instance a stored %d, b stored %d of %d", len(idsA), len(idsB), len(want))
}

func TestCommandIsSignedAndShowsItsReply(t *testing.T) {
	broker := brokertest.Start(t)
	c, pub := startConsole(t, broker.URL(), "station", time.Minute)
	kiosk := brokertest.Connect(t, broker.URL())
	cmds := kiosk.Subscribe("gongzhi/v1/k1/cmd")
	// The kiosk's state names one open incident, so the page has a card for it.
	state, _ := json.Marshal(contract.State{V: 1, Kiosk: "k1", Incidents: []contract.Incident{
		{ID: "inc-1", Request: "police", Status: "delivered", CallbackDue: time.Now().Add(5 * time.Minute)}}})
	kiosk.Publish("gongzhi/v1/k1/state", state, true)
	waitFor(t, "the incident on the console", func() bool { return len(c.View().Incidents) == 1 })

	replies := []*contract.ReplyError{nil, {Code: contract.ErrReplayed, Message: "counter not above the last"}}
	var last uint64
	for i, answer := range replies {
		sent, err := c.Send("k1", contract.CmdAccept, contract.AcceptArgs{Incident: "inc-1", Responder: "王警官"})
		if err != nil {
			t.Fatal(err)
		}
		m := brokertest.Next(t, cmds, waitLong)
		if m.Retained {
			t.Error("a command was published retained")
		}
		cmd, err := contract.OpenCommand(m.Payload, []ed25519.PublicKey{pub})
		if err != nil {
			t.Fatalf("command %d does not verify: %v", i, err)
		}
		if cmd.ID != sent.ID || cmd.Kiosk != "k1" || cmd.Name != "accept" || cmd.Counter <= last {
			t.Errorf("command %d: got %+v, want id %s for k1, counter above %d", i, cmd, sent.ID, last)
		}
		last = cmd.Counter
		reply, _ := json.Marshal(contract.Reply{V: 1, Command: cmd.ID, Kiosk: "k1", OK: answer == nil, Error: answer})
		kiosk.Publish("gongzhi/v1/k1/cmd/reply", reply, false)
		want := "ok"
		if answer != nil {
			want = answer.Code
		}
		waitFor(t, "the reply next to the incident", func() bool {
			for _, cv := range c.View().Incidents[0].Commands {
				if cv.ID == sent.ID {
					return cv.Outcome == want
				}
			}
			return false
		})
	}
}
