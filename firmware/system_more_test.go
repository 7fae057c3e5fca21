package firmware_test

import (
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"kioskd/cloudlink/contract"
	"kioskd/firmware/config"
	"kioskd/hack/brokertest"
)

func TestSystemLongPressIsUrgent(t *testing.T) {
	t.Parallel()
	broker := brokertest.Start(t)
	cfg, httpAddr := simConfig(t, t.TempDir(), broker.URL())
	kiosk := startKiosk(t, cfg, httpAddr)
	plat := newPlatform(t, broker.URL(), true)

	kiosk.pressFor("police", 3200)
	// Registered at once, on press-down, not after the hold.
	reg := plat.waitEvents("registered", 2*time.Second, func(evs []contract.Event) bool {
		return len(ofType(evs, "incident.registered")) == 1
	})
	urgent := plat.waitEvents("urgent", 5*time.Second, func(evs []contract.Event) bool {
		return len(ofType(evs, "incident.urgent")) == 1
	})
	if r, u := ofType(reg, "incident.registered")[0], ofType(urgent, "incident.urgent")[0]; u.Time.Sub(r.Time) < 2900*time.Millisecond {
		t.Errorf("urgent %v after registered, want about 3 s", u.Time.Sub(r.Time))
	}
	s := kiosk.state()
	if len(s.Incidents) != 1 || s.Incidents[0].Urgency != 2 {
		t.Errorf("state = %+v, want one urgent incident", s.Incidents)
	}
}

func TestSystemCallbackOverdue(t *testing.T) {
	t.Parallel()
	broker := brokertest.Start(t)
	cfg, httpAddr := simConfig(t, t.TempDir(), broker.URL(), func(c *config.Config) {
		c.Incidents.CallbackWithin = config.Duration{Duration: time.Second}
	})
	kiosk := startKiosk(t, cfg, httpAddr)
	plat := newPlatform(t, broker.URL(), true)
	kiosk.press("community")
	got := plat.waitEvents("overdue", 5*time.Second, func(evs []contract.Event) bool {
		return len(ofType(evs, "incident.overdue")) == 1
	})
	var data struct {
		Deadline string `json:"deadline"`
	}
	json.Unmarshal(ofType(got, "incident.overdue")[0].Data, &data)
	if data.Deadline != "callback" {
		t.Errorf("overdue deadline = %q, want callback", data.Deadline)
	}
	if s := kiosk.state(); s.Incidents[0].Urgency == 0 {
		t.Errorf("urgency not raised after the missed call-back")
	}
}

// TestSystemGracefulStop: SIGINT (Ctrl-C) or SIGTERM stops kioskd cleanly,
// and the platform sees "stopped", not "offline".
func TestSystemGracefulStop(t *testing.T) {
	t.Parallel()
	broker := brokertest.Start(t)
	cfg, httpAddr := simConfig(t, t.TempDir(), broker.URL())
	kiosk := startKiosk(t, cfg, httpAddr)
	status := brokertest.Connect(t, broker.URL()).Subscribe("gongzhi/v1/sim-kiosk/status")
	if m := brokertest.Next(t, status, 5*time.Second); !strings.Contains(string(m.Payload), `"online"`) {
		t.Fatalf("status = %s, want online", m.Payload)
	}
	kiosk.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-kiosk.exited:
	case <-time.After(10 * time.Second):
		t.Fatal("kioskd did not stop within 10 s of SIGINT")
	}
	if code := kiosk.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("exit code %d, want 0; log:\n%s", code, kiosk.log)
	}
	if m := brokertest.Next(t, status, 5*time.Second); !strings.Contains(string(m.Payload), `"stopped"`) {
		t.Errorf("status after stop = %s, want stopped", m.Payload)
	}
}

func TestKioskdCommands(t *testing.T) {
	t.Parallel()
	bad := filepath.Join(t.TempDir(), "bad.toml")
	os.WriteFile(bad, []byte("version = 1\n[kiosk]\nid = \"Post 1\"\nstate_dir = \"/var/lib/kioskd\"\n[mqtt]\nbroker = \"tcp://127.0.0.1:1883\"\npassword = \"x\"\n"), 0o600)
	tests := []struct {
		name     string
		args     []string
		wantCode int
		want     string
	}{
		{"version", []string{"version"}, 0, "kioskd "},
		{"example config is valid", []string{"check-config", "config/example.toml"}, 0, "ok"},
		{"bad config names the key", []string{"check-config", bad}, 1, "mqtt.password"},
		{"missing config", []string{"-config", "/nonexistent/kioskd.toml"}, 1, "/nonexistent/kioskd.toml"},
	}
	for _, tt := range tests {
		out, _ := exec.Command(kioskdBin, tt.args...).CombinedOutput()
		code := 0
		if !strings.Contains(string(out), tt.want) {
			t.Errorf("%s: output %q, want it to contain %q", tt.name, out, tt.want)
		}
		cmd := exec.Command(kioskdBin, tt.args...)
		if err := cmd.Run(); err != nil {
			code = cmd.ProcessState.ExitCode()
		}
		if code != tt.wantCode {
			t.Errorf("%s: exit code %d, want %d", tt.name, code, tt.wantCode)
		}
	}
}

func TestSystemHeartbeat(t *testing.T) {
	t.Parallel()
	broker := brokertest.Start(t)
	cfg, httpAddr := simConfig(t, t.TempDir(), broker.URL(), func(c *config.Config) {
		c.MQTT.Heartbeat = config.Duration{Duration: 5 * time.Second}
	})
	kiosk := startKiosk(t, cfg, httpAddr)
	kiosk.press("lawyer")
	kiosk.waitState("one call", func(s kioskState) bool { return len(s.Incidents) == 1 })
	// No platform acks anything: the outbox holds the start and the call.
	beats := brokertest.Connect(t, broker.URL()).Subscribe("gongzhi/v1/sim-kiosk/heartbeat")
	var hb contract.Heartbeat
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		m := brokertest.Next(t, beats, 10*time.Second)
		json.Unmarshal(m.Payload, &hb)
		if hb.OpenIncidents == 1 {
			break
		}
	}
	switch {
	case hb.Kiosk != "sim-kiosk" || hb.BootEpoch == 0:
		t.Errorf("heartbeat kiosk %q boot %d", hb.Kiosk, hb.BootEpoch)
	case !hb.AlarmPathHealthy || hb.OpenIncidents != 1:
		t.Errorf("heartbeat healthy %v open %d, want true and 1", hb.AlarmPathHealthy, hb.OpenIncidents)
	case hb.OutboxDepth < 2 || hb.OutboxOldest.IsZero():
		t.Errorf("outbox depth %d oldest %v, want at least 2 waiting", hb.OutboxDepth, hb.OutboxOldest)
	case hb.JournalBytes <= 0 || hb.DiskFreeBytes <= 0 || hb.JournalMaxBytes != 512<<20:
		t.Errorf("journal %d bytes of %d, disk free %d", hb.JournalBytes, hb.JournalMaxBytes, hb.DiskFreeBytes)
	}
}

func TestSystemTamperAlarm(t *testing.T) {
	t.Parallel()
	broker := brokertest.Start(t)
	cfg, httpAddr := simConfig(t, t.TempDir(), broker.URL())
	kiosk := startKiosk(t, cfg, httpAddr)
	plat := newPlatform(t, broker.URL(), true)
	resp, err := http.Post(kiosk.http+"/api/sim/tamper/open", "application/json", nil)
	if err != nil || resp.StatusCode != http.StatusAccepted {
		t.Fatalf("open tamper: %v %v", err, resp)
	}
	resp.Body.Close()
	got := plat.waitEvents("tamper alarm", 5*time.Second, func(evs []contract.Event) bool {
		return len(ofType(evs, "incident.registered")) == 1 && len(ofType(evs, "fault.raised")) == 1
	})
	if reg := ofType(got, "incident.registered")[0]; !strings.Contains(string(reg.Data), `"request":"tamper"`) {
		t.Errorf("registered = %s, want a tamper alarm", reg.Data)
	}
	if s := kiosk.state(); len(s.Incidents) != 1 || s.Incidents[0].Urgency != 2 {
		t.Errorf("state = %+v, want one urgent tamper alarm", s.Incidents)
	}
}
