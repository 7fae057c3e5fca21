package cloudlink

import (
	"strings"
	"testing"
	"time"

	"kioskd/hack/brokertest"
)

// A connection that stays open and carries nothing (a black hole) is dropped
// within 1.5 × KeepAlive of going quiet, rebuilt once the network is back,
// and what was journaled meanwhile is delivered.
func TestBlackHoleDetectedWithinKeepAlive(t *testing.T) {
	broker := brokertest.Start(t)
	proxy := brokertest.StartProxy(t, broker.Addr())
	cfg := testConfig(t, proxy.URL())
	cfg.KeepAlive = 2 * time.Second
	cfg.OpTimeout = 10 * time.Second // only the keepalive may notice
	platform := brokertest.Connect(t, broker.URL())
	events := platform.Subscribe(cfg.Topics.Events())
	outbox := newOutbox()
	outbox.add(1)
	link, _ := runLink(t, cfg, outbox, newKiosk())
	sendAck(t, platform, cfg.Topics, nextEvent(t, events).ID)
	waitFor(t, "first ack", func() bool { return outbox.unacked() == 0 })

	proxy.Stall()
	stalled := time.Now()
	outbox.add(5)
	link.Notify()
	waitFor(t, "the link to notice", func() bool { return !link.Status().Connected })
	const limit = 3*time.Second + 300*time.Millisecond // 1.5 × KeepAlive, and slack
	if took := time.Since(stalled); took > limit {
		t.Errorf("black hole noticed after %v, want within %v", took, limit)
	} else {
		t.Logf("black hole noticed after %v (%s)", took, link.Status().LastError)
	}

	proxy.Resume()
	waitFor(t, "reconnect", func() bool { return link.Status().Connected })
	got := map[string]bool{}
	for len(got) < 5 { // the first connection's publishes may also arrive after Resume
		ev := nextEvent(t, events)
		got[ev.ID] = true
		sendAck(t, platform, cfg.Topics, ev.ID)
	}
	waitFor(t, "all acked", func() bool { return outbox.unacked() == 0 })
}

// A broker that accepts the TCP connection and never answers CONNECT cannot
// stall the link: the attempt times out and the next one gets through.
func TestConnectWithoutAnswerIsRetried(t *testing.T) {
	broker := brokertest.Start(t)
	proxy := brokertest.StartProxy(t, broker.Addr())
	proxy.Stall()
	cfg := testConfig(t, proxy.URL())
	cfg.OpTimeout = 300 * time.Millisecond
	link, _ := runLink(t, cfg, newOutbox(), newKiosk())

	waitFor(t, "a connect attempt to time out", func() bool {
		return strings.Contains(link.Status().LastError, "connect")
	})
	if link.Status().Connected {
		t.Fatalf("connected through a stalled proxy: got true, want false")
	}
	t.Logf("last error: %s", link.Status().LastError)
	proxy.Resume()
	waitFor(t, "connect once the network is back", func() bool { return link.Status().Connected })
}
