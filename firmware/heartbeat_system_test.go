package firmware_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"kioskd/cloudlink/contract"
	"kioskd/hack/brokertest"
)

// TestSystemFirstHeartbeatHealthy starts kioskd again and again on one
// journal and reads the first heartbeat each run publishes: it must never
// call the alarm path unhealthy because its first check has not run yet
// (issue 13, item 7: 2 of 8 starts said "journal: not checked yet"), and
// /healthz must say the same.
func TestSystemFirstHeartbeatHealthy(t *testing.T) {
	t.Parallel()
	const starts = 16
	broker := brokertest.Start(t)
	cfg, httpAddr := simConfig(t, t.TempDir(), broker.URL())
	watcher := brokertest.Connect(t, broker.URL())
	topics, _ := contract.NewTopics(contract.DefaultRoot, "sim-kiosk")
	beats := watcher.Subscribe(topics.Heartbeat())
	var last uint64
	for i := range starts {
		k := startKiosk(t, cfg, httpAddr)
		hb := firstHeartbeatAfter(t, beats, last)
		last = hb.BootEpoch
		if !hb.AlarmPathHealthy || hb.Status != contract.StatusOK {
			t.Errorf("start %d (boot %d): first heartbeat alarm_path_healthy %v status %q problem %q; want healthy and ok",
				i+1, hb.BootEpoch, hb.AlarmPathHealthy, hb.Status, hb.AlarmPathProblem)
		}
		if code, h := k.healthz(); code != http.StatusOK || h.Status != contract.StatusOK {
			t.Errorf("start %d: /healthz %d %+v, want 200 and ok like the heartbeat", i+1, code, h)
		}
		k.kill()
	}
}

// firstHeartbeatAfter returns the first heartbeat of a boot epoch above
// epoch (the retained one of an earlier run comes first and is skipped).
func firstHeartbeatAfter(t *testing.T, beats <-chan brokertest.Message, epoch uint64) contract.Heartbeat {
	t.Helper()
	deadline := time.After(15 * time.Second)
	for {
		select {
		case m := <-beats:
			var hb contract.Heartbeat
			if err := json.Unmarshal(m.Payload, &hb); err != nil {
				t.Fatalf("heartbeat %s: %v", m.Payload, err)
			}
			if hb.BootEpoch > epoch {
				return hb
			}
		case <-deadline:
			t.Fatalf("no heartbeat of a boot after %d within 15s", epoch)
			return contract.Heartbeat{}
		}
	}
}

// healthBody is what GET /healthz returns.
type healthBody struct {
	Status          string                    `json:"status"`
	AlarmPath       string                    `json:"alarm_path"`
	JournalRecovery *contract.JournalRecovery `json:"journal_recovery"`
}

func (k *kioskProc) healthz() (int, healthBody) {
	k.t.Helper()
	resp, err := http.Get(k.http + "/healthz")
	if err != nil {
		k.t.Fatal(err)
	}
	defer resp.Body.Close()
	var h healthBody
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
		k.t.Fatal(err)
	}
	return resp.StatusCode, h
}
