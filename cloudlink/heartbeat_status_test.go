package cloudlink

import (
	"testing"
	"time"

	"kioskd/cloudlink/contract"
	"kioskd/hack/brokertest"
)

// A change of the kiosk's status is published at once, not a heartbeat
// period later; a notify that changes nothing publishes no heartbeat.
func TestHeartbeatOnStatusChange(t *testing.T) {
	broker := brokertest.Start(t)
	cfg := testConfig(t, broker.URL())
	cfg.HeartbeatEvery = time.Hour
	beats := brokertest.Connect(t, broker.URL()).Subscribe(cfg.Topics.Heartbeat())
	kiosk := newKiosk()
	kiosk.heartbeat = contract.Heartbeat{AlarmPathHealthy: true, Faults: []string{}, Status: contract.StatusDegraded}
	link, _ := runLink(t, cfg, newOutbox(), kiosk)
	if hb, _ := nextHeartbeat(t, beats); hb.Status != contract.StatusDegraded {
		t.Fatalf("first heartbeat status %q, want degraded", hb.Status)
	}

	link.Notify() // nothing changed
	kiosk.mu.Lock()
	kiosk.heartbeat.Status = contract.StatusOK
	kiosk.mu.Unlock()
	link.Notify()
	if hb, _ := nextHeartbeat(t, beats); hb.Status != contract.StatusOK {
		t.Errorf("heartbeat after the change: status %q, want ok", hb.Status)
	}
	link.Notify()
	select {
	case m := <-beats:
		t.Errorf("a notify without a change published a heartbeat: %s", m.Payload)
	case <-time.After(300 * time.Millisecond):
	}
}
