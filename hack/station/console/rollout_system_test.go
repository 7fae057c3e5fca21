package console

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"kioskd/cloudlink/contract"
	"kioskd/firmware"
	"kioskd/firmware/config"
	"kioskd/firmware/upkeep"
	"kioskd/hack/brokertest"
)

// The kiosks of these tests are the real daemon, in this process, as
// hack/kiosksim runs it (simulated buttons, no cameras), at version
// inProcessVersion. They cannot switch binaries (no `kioskd launch`), so
// an update they would take ends in not_launched; rollout_e2e_test.go
// updates real binaries.
const inProcessVersion = "1.2.0"

func TestMain(m *testing.M) {
	firmware.Version = inProcessVersion // as the build's -ldflags -X would; before any daemon starts
	os.Exit(m.Run())
}

// writePublicKey writes pub as PEM for a kiosk's key files.
func writePublicKey(t *testing.T, pub ed25519.PublicKey) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "key.pub")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// fleetConfig is a sim kiosk that trusts the station's command key and
// the release key, with short heartbeats.
func fleetConfig(t *testing.T, id, brokerURL, commandKey, releaseKey string) *config.Config {
	cfg := config.Sim(t.TempDir())
	cfg.Kiosk.ID = id
	cfg.MQTT.ClientID = id // Sim set it from its own kiosk id
	cfg.MQTT.Broker = brokerURL
	cfg.MQTT.Heartbeat = config.Duration{Duration: 5 * time.Second}
	cfg.MQTT.AckTimeout = config.Duration{Duration: 2 * time.Second}
	cfg.HTTP.Listen = fmt.Sprintf("127.0.0.1:%d", brokertest.FreePort(t))
	cfg.Relay.Listen = new(string) // none: the kiosks share 127.0.0.1
	cfg.Commands.PublicKeyFiles = []string{commandKey}
	cfg.Update.PublicKeyFiles = []string{releaseKey}
	cfg.SelfTest.AckWithin = config.Duration{Duration: 10 * time.Second}
	return cfg
}

// startInProcessKiosks runs one daemon per id until the test ends.
func startInProcessKiosks(t *testing.T, brokerURL string, stationKey ed25519.PublicKey, releaseKey string, ids ...string) {
	t.Helper()
	commandKey := writePublicKey(t, stationKey)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, len(ids))
	for _, id := range ids {
		cfg := fleetConfig(t, id, brokerURL, commandKey, releaseKey)
		if err := cfg.Validate(); err != nil {
			t.Fatal(err)
		}
		go func() { done <- firmware.RunConfig(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil))) }()
	}
	t.Cleanup(func() {
		cancel()
		for range ids {
			if err := <-done; err != nil {
				t.Errorf("kiosk: %v", err)
			}
		}
	})
}

// waitRollout waits until the rollout satisfies ok and returns its view.
func waitRollout(t *testing.T, c *Console, id, what string, timeout time.Duration, ok func(RolloutView) bool) RolloutView {
	t.Helper()
	var v RolloutView
	deadline := time.Now().Add(timeout)
	for {
		v, _ = c.Rollout(id)
		if ok(v) {
			return v
		}
		if time.Now().After(deadline) {
			b, _ := json.MarshalIndent(v, "", " ")
			t.Fatalf("timed out waiting for %s; rollout:\n%s", what, b)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func target(v RolloutView, kiosk string) TargetView {
	for _, tv := range v.Targets {
		if tv.Kiosk == kiosk {
			return tv
		}
	}
	return TargetView{}
}

// postJSON posts body to url and decodes the answer into out.
func postJSON(t *testing.T, url string, body any, out any) int {
	t.Helper()
	b, _ := json.Marshal(body)
	res, err := http.Post(url, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if err := json.NewDecoder(res.Body).Decode(out); err != nil {
		t.Fatalf("POST %s: answer: %v", url, err)
	}
	return res.StatusCode
}

func getText(t *testing.T, url string) string {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return string(b)
}

// TestRolloutSelfTestAndRefusedUpdate: the console runs a self-test on
// every kiosk and shows each result; then an update in waves of one that
// the kiosks refuse as a downgrade halts after the first kiosk with the
// reason shown, and goes on when the operator continues. Every command
// verifies under the station's key, as the kiosk checks it.
func TestRolloutSelfTestAndRefusedUpdate(t *testing.T) {
	broker := brokertest.Start(t)
	c, stationKey := startConsole(t, broker.URL(), "station", time.Minute)
	web := httptest.NewServer(c.Handler())
	defer web.Close()
	releasePub, releasePriv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	wire := brokertest.Connect(t, broker.URL()).Subscribe("gongzhi/v1/+/cmd")
	startInProcessKiosks(t, broker.URL(), stationKey, writePublicKey(t, releasePub), "k-a", "k-b")
	waitFor(t, "both kiosks' heartbeats", func() bool {
		v := c.View()
		return len(v.Kiosks) == 2 && v.Kiosks[0].Heartbeat != nil && v.Kiosks[1].Heartbeat != nil
	})

	var st RolloutView
	if code := postJSON(t, web.URL+"/api/rollouts", RolloutRequest{Kind: contract.CmdSelfTest, All: true, By: "王警官"}, &st); code != http.StatusAccepted {
		t.Fatalf("POST self_test rollout: %d %+v", code, st)
	}
	st = waitRollout(t, c, st.ID, "the self-tests done", waitLong, func(v RolloutView) bool { return v.State == RolloutDone })
	for _, k := range []string{"k-a", "k-b"} {
		tv := target(st, k)
		if tv.Result != "passed" || tv.Reply != "ok" || !strings.Contains(tv.Detail, "test_call passed") {
			t.Errorf("%s self-test: result %q, reply %q, detail %q; want passed, ok, test_call passed", k, tv.Result, tv.Reply, tv.Detail)
		}
	}
	verifyCommands(t, wire, stationKey, contract.CmdSelfTest, 2)

	downgrade := signedRelease(t, releasePriv, "1.1.0")
	var up RolloutView
	if code := postJSON(t, web.URL+"/api/rollouts", RolloutRequest{Kind: contract.CmdUpdate, Kiosks: []string{"k-a", "k-b"},
		Release: &downgrade, WaveSize: 1}, &up); code != http.StatusAccepted {
		t.Fatalf("POST update rollout: %d %+v", code, up)
	}
	up = waitRollout(t, c, up.ID, "the first wave to halt", waitLong, func(v RolloutView) bool { return v.State == RolloutHalted })
	a, b := target(up, "k-a"), target(up, "k-b")
	if a.Result != "rejected" || a.Reason != contract.UpdateDowngrade || a.Version != inProcessVersion {
		t.Errorf("k-a: result %q, reason %q, heartbeat version %q; want rejected, %s, %s", a.Result, a.Reason, a.Version, contract.UpdateDowngrade, inProcessVersion)
	}
	if b.Result != "waiting" || b.Command != "" {
		t.Errorf("k-b in the second wave: result %q, command %q; want waiting, not sent", b.Result, b.Command)
	}
	page := getText(t, web.URL+"/live")
	if !strings.Contains(page, `data-kiosk="k-a" data-result="rejected"`) || !strings.Contains(page, "not above the running "+inProcessVersion) {
		t.Error("the console page does not show k-a's rejection and why")
	}
	verifyCommands(t, wire, stationKey, contract.CmdUpdate, 1)

	var cont RolloutView
	if code := postJSON(t, web.URL+"/api/rollouts/"+up.ID+"/continue", nil, &cont); code != http.StatusOK || cont.State != RolloutRunning {
		t.Fatalf("continue: %d, rollout %s; want 200, running", code, cont.State)
	}
	up = waitRollout(t, c, up.ID, "the second wave", waitLong, func(v RolloutView) bool { return v.State == RolloutDone })
	if b := target(up, "k-b"); b.Result != "rejected" || b.Reason != contract.UpdateDowngrade {
		t.Errorf("k-b: result %q, reason %q; want rejected, %s", b.Result, b.Reason, contract.UpdateDowngrade)
	}
	if up.Counts.Failed != 2 || up.Counts.OK != 0 {
		t.Errorf("counts %+v, want 2 failed", up.Counts)
	}
}

// signedRelease is a release of made-up bytes at version, signed as
// hack/release signs it, for this machine's arch; kiosks refuse it before
// downloading anything.
func signedRelease(t *testing.T, key ed25519.PrivateKey, version string) contract.UpdateArgs {
	t.Helper()
	sum := sha256.Sum256([]byte("kioskd " + version))
	a := contract.UpdateArgs{URL: "http://127.0.0.1:9/kioskd-" + version, Version: version,
		SHA256: hex.EncodeToString(sum[:]), Size: 1 << 20, Arch: upkeep.Arch()}
	var err error
	if a.Signature, err = contract.SignRelease(key, a.Version, a.SHA256, a.Arch); err != nil {
		t.Fatal(err)
	}
	return a
}

// verifyCommands reads n commands off the wire and checks that each opens
// under the station's key, as the kiosk checks it, names the kiosk of its
// topic and is the named command.
func verifyCommands(t *testing.T, wire <-chan brokertest.Message, key ed25519.PublicKey, name string, n int) {
	t.Helper()
	for range n {
		m := brokertest.Next(t, wire, waitLong)
		cmd, err := contract.OpenCommand(m.Payload, []ed25519.PublicKey{key})
		if err != nil {
			t.Errorf("command on %s does not verify: %v", m.Topic, err)
			continue
		}
		if m.Topic != "gongzhi/v1/"+cmd.Kiosk+"/cmd" || cmd.Name != name || m.Retained {
			t.Errorf("command %s %q for %s on %s (retained %v); want %s on its kiosk's topic, not retained", cmd.ID, cmd.Name, cmd.Kiosk, m.Topic, m.Retained, name)
		}
	}
}
