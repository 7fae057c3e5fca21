package cloudlink

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"kioskd/cloudlink/contract"
	"kioskd/hack/brokertest"
)

// nextAvailability receives and decodes the next status message.
func nextAvailability(t *testing.T, ch <-chan brokertest.Message) (contract.Availability, bool) {
	t.Helper()
	m := brokertest.Next(t, ch, waitLong)
	var a contract.Availability
	if err := json.Unmarshal(m.Payload, &a); err != nil {
		t.Fatalf("status payload %q: %v", m.Payload, err)
	}
	return a, m.Retained
}

func checkAvailability(t *testing.T, got contract.Availability, state string) {
	t.Helper()
	want := contract.Availability{V: contract.SchemaVersion, Kiosk: testKiosk, State: state,
		BootEpoch: testEpoch, Version: "1.2.3-test"}
	got.Time = time.Time{}
	if got != want {
		t.Errorf("availability: got %+v, want %+v", got, want)
	}
}

func TestAvailabilityOnlineThenStopped(t *testing.T) {
	broker := brokertest.Start(t)
	cfg := testConfig(t, broker.URL())
	platform := brokertest.Connect(t, broker.URL())
	status := platform.Subscribe(cfg.Topics.Status())
	link, stop := runLink(t, cfg, newOutbox(), newKiosk())

	a, _ := nextAvailability(t, status)
	checkAvailability(t, a, contract.Online)
	waitFor(t, "connected", func() bool { return link.Status().Connected })

	stop()
	a, _ = nextAvailability(t, status)
	checkAvailability(t, a, contract.Stopped)
	if link.Status().Connected {
		t.Errorf("connected after Run returned: got true, want false")
	}

	// A platform that subscribes later sees the retained "stopped".
	late := brokertest.Connect(t, broker.URL()).Subscribe(cfg.Topics.Status())
	a, retained := nextAvailability(t, late)
	checkAvailability(t, a, contract.Stopped)
	if !retained {
		t.Errorf("late status: got not retained, want retained")
	}
}

// A connection that dies without DISCONNECT makes the broker publish the will.
func TestWillOnLostConnection(t *testing.T) {
	broker := brokertest.Start(t)
	proxy := brokertest.StartProxy(t, broker.Addr())
	cfg := testConfig(t, proxy.URL())
	platform := brokertest.Connect(t, broker.URL())
	status := platform.Subscribe(cfg.Topics.Status())
	link, _ := runLink(t, cfg, newOutbox(), newKiosk())

	a, _ := nextAvailability(t, status)
	checkAvailability(t, a, contract.Online)
	waitFor(t, "connected", func() bool { return link.Status().Connected })
	proxy.Cut()
	a, _ = nextAvailability(t, status)
	checkAvailability(t, a, contract.Offline)
	a, _ = nextAvailability(t, status)
	checkAvailability(t, a, contract.Online)
	waitFor(t, "reconnected", func() bool { return link.Status().Reconnects == 1 })
}

func TestFirstConnectFailsThenBrokerStarts(t *testing.T) {
	broker := brokertest.Start(t)
	broker.Stop()
	cfg := testConfig(t, broker.URL())
	link, _ := runLink(t, cfg, newOutbox(), newKiosk())
	waitFor(t, "a failed connect", func() bool { return link.Status().LastError != "" })
	if link.Status().Connected {
		t.Fatalf("connected with no broker: got true, want false")
	}

	broker.Restart()
	waitFor(t, "connect once the broker is up", func() bool { return link.Status().Connected })
	if got := link.Status().Reconnects; got != 0 {
		t.Errorf("reconnects: got %d, want 0 (first session)", got)
	}
}

func TestStateRepublishedWhenChanged(t *testing.T) {
	broker := brokertest.Start(t)
	cfg := testConfig(t, broker.URL())
	platform := brokertest.Connect(t, broker.URL())
	states := platform.Subscribe(cfg.Topics.State())
	kiosk := newKiosk()
	link, _ := runLink(t, cfg, newOutbox(), kiosk)

	brokertest.Next(t, states, waitLong)
	late := brokertest.Connect(t, broker.URL()).Subscribe(cfg.Topics.State())
	if m := brokertest.Next(t, late, waitLong); !m.Retained {
		t.Errorf("state for a late subscriber: got not retained, want retained")
	}
	link.Notify() // nothing changed: nothing published
	expectNone(t, states, 300*time.Millisecond)

	st := kiosk.State()
	st.Incidents = []contract.Incident{{ID: "inc-1", Request: "police", Status: "registered"}}
	kiosk.setState(st)
	link.Notify()
	m := brokertest.Next(t, states, waitLong)
	var got contract.State
	if err := json.Unmarshal(m.Payload, &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Incidents) != 1 || got.Incidents[0].ID != "inc-1" || got.Kiosk != testKiosk {
		t.Errorf("state: got %+v, want one incident inc-1 of %s", got, testKiosk)
	}
}

func TestRunRejectsBadConfig(t *testing.T) {
	good := testConfig(t, "tcp://127.0.0.1:1")
	tests := []struct {
		name   string
		change func(*Config)
		want   string
	}{
		{"bad kiosk id", func(c *Config) { c.KioskID = "Kiosk 1" }, "kiosk id"},
		{"no broker", func(c *Config) { c.Broker = "" }, "no broker"},
		{"keepalive under a second", func(c *Config) { c.KeepAlive = 500 * time.Millisecond }, "keepalive"},
		{"backoff upside down", func(c *Config) { c.BackoffMin, c.BackoffMax = time.Second, time.Millisecond }, "backoff"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := good
			tt.change(&cfg)
			ctx, cancel := context.WithTimeout(context.Background(), waitLong)
			defer cancel()
			err := New(cfg, newOutbox(), newKiosk(), nil).Run(ctx)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Run: got %v, want an error about %q", err, tt.want)
			}
		})
	}
}

func TestConfigDefaults(t *testing.T) {
	got := Config{KioskID: "k-1", Broker: "tcp://127.0.0.1:1883"}.withDefaults()
	if got.ClientID != "k-1" {
		t.Errorf("client id: got %q, want %q", got.ClientID, "k-1")
	}
	if want := "gongzhi/v1/k-1/status"; got.Topics.Status() != want {
		t.Errorf("status topic: got %q, want %q", got.Topics.Status(), want)
	}
	durations := []struct {
		name      string
		got, want time.Duration
	}{
		{"keepalive", got.KeepAlive, 30 * time.Second},
		{"ack timeout", got.AckTimeout, 10 * time.Second},
		{"backoff min", got.BackoffMin, 500 * time.Millisecond},
		{"backoff max", got.BackoffMax, 30 * time.Second},
		{"op timeout", got.OpTimeout, 10 * time.Second},
	}
	for _, d := range durations {
		if d.got != d.want {
			t.Errorf("%s: got %v, want %v", d.name, d.got, d.want)
		}
	}
	if got.Window != 256 {
		t.Errorf("window: got %d, want 256", got.Window)
	}
	if got.HeartbeatEvery != time.Minute {
		t.Errorf("heartbeat every: got %v, want 1m", got.HeartbeatEvery)
	}
}
