package cloudlink

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"kioskd/cloudlink/contract"
	"kioskd/hack/brokertest"
)

func nextHeartbeat(t *testing.T, ch <-chan brokertest.Message) (contract.Heartbeat, bool) {
	t.Helper()
	m := brokertest.Next(t, ch, waitLong)
	var hb contract.Heartbeat
	if err := json.Unmarshal(m.Payload, &hb); err != nil {
		t.Fatalf("heartbeat payload %q: %v", m.Payload, err)
	}
	return hb, m.Retained
}

// The heartbeat goes out retained on connect and then every HeartbeatEvery,
// with the envelope the kiosk left empty filled in by the link.
func TestHeartbeatOnConnectAndPeriodic(t *testing.T) {
	broker := brokertest.Start(t)
	cfg := testConfig(t, broker.URL())
	cfg.HeartbeatEvery = 300 * time.Millisecond
	platform := brokertest.Connect(t, broker.URL())
	beats := platform.Subscribe(cfg.Topics.Heartbeat())
	kiosk := newKiosk()
	kiosk.heartbeat = contract.Heartbeat{OutboxDepth: 7, AlarmPathHealthy: true, Faults: []string{}}
	runLink(t, cfg, newOutbox(), kiosk)

	first, _ := nextHeartbeat(t, beats)
	want := contract.Heartbeat{V: contract.SchemaVersion, Kiosk: testKiosk, BootEpoch: testEpoch,
		Version: "1.2.3-test", OutboxDepth: 7, AlarmPathHealthy: true, Faults: []string{},
		UptimeSeconds: first.UptimeSeconds}
	if !reflect.DeepEqual(first, want) {
		t.Errorf("first heartbeat: got %+v, want %+v", first, want)
	}
	start := time.Now()
	second, _ := nextHeartbeat(t, beats)
	if second.UptimeSeconds <= first.UptimeSeconds {
		t.Errorf("second heartbeat: got call %d after %d, want a fresh one", second.UptimeSeconds, first.UptimeSeconds)
	}
	if took := time.Since(start); took > 3*cfg.HeartbeatEvery {
		t.Errorf("second heartbeat after %v, want about %v", took, cfg.HeartbeatEvery)
	}

	late := brokertest.Connect(t, broker.URL()).Subscribe(cfg.Topics.Heartbeat())
	if _, retained := nextHeartbeat(t, late); !retained {
		t.Errorf("heartbeat for a late subscriber: got not retained, want retained")
	}
}

// What the kiosk fills in is published as it is.
func TestHeartbeatKeepsKioskFields(t *testing.T) {
	broker := brokertest.Start(t)
	cfg := testConfig(t, broker.URL())
	platform := brokertest.Connect(t, broker.URL())
	beats := platform.Subscribe(cfg.Topics.Heartbeat())
	kiosk := newKiosk()
	kiosk.heartbeat = contract.Heartbeat{V: contract.SchemaVersion, Kiosk: testKiosk, BootEpoch: 99,
		Version: "9.9.9", Faults: []string{"tamper"}}
	runLink(t, cfg, newOutbox(), kiosk)

	got, _ := nextHeartbeat(t, beats)
	if got.BootEpoch != 99 || got.Version != "9.9.9" || len(got.Faults) != 1 || got.Faults[0] != "tamper" {
		t.Errorf("heartbeat: got %+v, want the kiosk's boot epoch, version and faults", got)
	}
}
