package firmware_test

import (
	"encoding/json"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"kioskd/cloudlink/contract"
	"kioskd/firmware/config"
	"kioskd/hack/brokertest"
)

// TestSelfTestOnCommand: the platform sends self_test; it sees the test
// call (flagged test, never urgent) and a passed result in the events and
// in the heartbeat. When it does not ack, the self-test fails and raises
// the self_test fault; a later pass clears it.
func TestSelfTestOnCommand(t *testing.T) {
	t.Parallel()
	broker := brokertest.Start(t)
	cfgPath, httpAddr := simConfig(t, t.TempDir(), broker.URL(), func(c *config.Config) {
		c.SelfTest.AckWithin = config.Duration{Duration: 3 * time.Second}
		c.MQTT.Heartbeat = config.Duration{Duration: 5 * time.Second}
	})
	k := startKiosk(t, cfgPath, httpAddr)
	plat := newPlatform(t, broker.URL(), false)
	acking := ackWhile(t, plat)
	beats := plat.client.Subscribe(plat.topics.Heartbeat())

	if r := plat.waitReply(plat.command(contract.CmdSelfTest, contract.SelfTestArgs{Reason: "test"})); !r.OK {
		t.Fatalf("self_test reply %+v, want ok", r)
	}
	evs := plat.waitEvents("self_test.passed", 20*time.Second, func(evs []contract.Event) bool {
		return len(ofType(evs, "self_test.passed")) == 1
	})
	checkTestCall(t, evs)
	res := selfTestOf(t, ofType(evs, "self_test.passed")[0])
	want := map[string]string{"journal": "passed", "disk": "passed", "alarm_path": "passed",
		"test_call": "passed", "cameras": "skipped", "indicators": "passed"}
	if got := checkResults(res); !mapsEqual(got, want) || !res.OK || res.Trigger != "command" {
		t.Errorf("self-test ok %v trigger %q checks %v, want ok, command, %v", res.OK, res.Trigger, got, want)
	}
	hb := waitHeartbeat(t, beats, func(hb contract.Heartbeat) bool { return hb.LastSelfTest != nil })
	if !hb.LastSelfTest.OK || len(hb.LastSelfTest.Checks) != len(want) {
		t.Errorf("heartbeat last_self_test = %+v, want the passed result", hb.LastSelfTest)
	}
	if s := k.state(); len(s.Incidents) != 0 {
		t.Errorf("open incidents after the self-test: %+v, want none (the test call is closed)", s.Incidents)
	}

	acking.Store(false) // the platform stops answering
	plat.command(contract.CmdSelfTest, nil)
	evs = plat.waitEvents("self_test.failed", 20*time.Second, func(evs []contract.Event) bool {
		return len(ofType(evs, "self_test.failed")) == 1 && hasFault(evs, "fault.raised", "self_test")
	})
	failed := selfTestOf(t, ofType(evs, "self_test.failed")[0])
	if got := checkResults(failed)["test_call"]; got != "failed" || !strings.Contains(failed.Note, "did not ack") {
		t.Errorf("failed self-test: test_call %q, note %q; want failed, did not ack", got, failed.Note)
	}

	acking.Store(true) // and catches up
	plat.command(contract.CmdSelfTest, nil)
	plat.waitEvents("a pass that clears the fault", 30*time.Second, func(evs []contract.Event) bool {
		return len(ofType(evs, "self_test.passed")) == 2 && hasFault(evs, "fault.cleared", "self_test")
	})
}

// ackWhile acks every event the platform received, while the returned
// switch is on (it starts on), until the test ends.
func ackWhile(t *testing.T, p *platform) *atomic.Bool {
	var on atomic.Bool
	on.Store(true)
	done := make(chan struct{})
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		acked := 0
		for {
			select {
			case <-done:
				return
			case <-time.After(50 * time.Millisecond):
			}
			if evs := p.received(); on.Load() && len(evs) > acked {
				var ids []string
				for _, ev := range evs[acked:] {
					ids = append(ids, ev.ID)
				}
				p.ack(ids...)
				acked = len(evs)
			}
		}
	}()
	t.Cleanup(func() { close(done); <-exited })
	return &on
}

// checkTestCall checks that the test call reached the platform flagged
// test, never urgent, and was closed.
func checkTestCall(t *testing.T, evs []contract.Event) {
	t.Helper()
	var reg, closed []contract.Event
	for _, ev := range evs {
		switch ev.Type {
		case "incident.registered":
			reg = append(reg, ev)
		case "incident.closed":
			closed = append(closed, ev)
		}
	}
	if len(reg) != 1 || len(closed) != 1 || reg[0].Incident != closed[0].Incident {
		t.Fatalf("test call: %d registered, %d closed; want one of each, same incident", len(reg), len(closed))
	}
	var d struct {
		Source   string `json:"source"`
		Incident struct {
			Test    bool `json:"test"`
			Urgency int  `json:"urgency"`
		} `json:"incident"`
	}
	json.Unmarshal(reg[0].Data, &d)
	if !d.Incident.Test || d.Source != "self-test" || d.Incident.Urgency != 0 {
		t.Errorf("test call registered as %+v, want test, source self-test, urgency 0", d)
	}
}

func selfTestOf(t *testing.T, ev contract.Event) contract.SelfTest {
	t.Helper()
	var d struct {
		SelfTest contract.SelfTest `json:"self_test"`
	}
	if err := json.Unmarshal(ev.Data, &d); err != nil {
		t.Fatalf("%s data %s: %v", ev.Type, ev.Data, err)
	}
	return d.SelfTest
}

func checkResults(r contract.SelfTest) map[string]string {
	m := map[string]string{}
	for _, c := range r.Checks {
		m[c.Name] = c.Result
	}
	return m
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func hasFault(evs []contract.Event, typ, fault string) bool {
	for _, ev := range ofType(evs, typ) {
		var d struct {
			Fault string `json:"fault"`
		}
		json.Unmarshal(ev.Data, &d)
		if d.Fault == fault {
			return true
		}
	}
	return false
}

// waitHeartbeat reads heartbeats until ok accepts one, for at most 20 s.
func waitHeartbeat(t *testing.T, beats <-chan brokertest.Message, ok func(contract.Heartbeat) bool) contract.Heartbeat {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		select {
		case m := <-beats:
			var hb contract.Heartbeat
			if err := json.Unmarshal(m.Payload, &hb); err != nil {
				t.Fatalf("heartbeat %s: %v", m.Payload, err)
			}
			if ok(hb) {
				return hb
			}
		case <-deadline:
			t.Fatal("no matching heartbeat within 20s")
			return contract.Heartbeat{}
		}
	}
}
