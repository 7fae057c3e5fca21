package console

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pelletier/go-toml/v2"

	"kioskd/cloudlink/contract"
	"kioskd/firmware/config"
	"kioskd/hack/brokertest"
)

// goBuild builds pkg into dir/name with ldflags.
func goBuild(t *testing.T, dir, name, pkg, ldflags string) string {
	t.Helper()
	out := filepath.Join(dir, name)
	if b, err := exec.Command("go", "build", "-ldflags", ldflags, "-o", out, pkg).CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, b)
	}
	return out
}

// runTool runs a built tool and returns its standard output.
func runTool(t *testing.T, path string, args ...string) []byte {
	t.Helper()
	var stderr bytes.Buffer
	cmd := exec.Command(path, args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(path), strings.Join(args, " "), err, stderr.String())
	}
	return out
}

// systemd plays kioskd.service for one kiosk: it runs `kioskd launch` of
// the packaged binary and starts it again whenever it exits (after an
// update, exit 75), at most maxStarts times, until the test ends.
type systemd struct {
	mu       sync.Mutex
	current  *exec.Cmd
	stopping bool
	log      bytes.Buffer
	done     chan struct{}
}

const maxStarts = 6

func startUnit(t *testing.T, packaged, cfgPath string) *systemd {
	s := &systemd{done: make(chan struct{})}
	go s.loop(t, packaged, cfgPath)
	t.Cleanup(func() {
		s.mu.Lock()
		s.stopping = true
		if s.current != nil {
			s.current.Process.Signal(syscall.SIGTERM)
		}
		s.mu.Unlock()
		select {
		case <-s.done:
		case <-time.After(15 * time.Second):
			s.mu.Lock()
			s.current.Process.Kill()
			s.mu.Unlock()
			<-s.done
		}
		if t.Failed() {
			s.mu.Lock()
			t.Logf("kioskd %s log:\n%s", cfgPath, s.log.String())
			s.mu.Unlock()
		}
	})
	return s
}

func (s *systemd) loop(t *testing.T, packaged, cfgPath string) {
	defer close(s.done)
	for range maxStarts {
		cmd := exec.Command(packaged, "launch", "-config", cfgPath)
		cmd.Stdout, cmd.Stderr = s, s
		s.mu.Lock()
		if s.stopping {
			s.mu.Unlock()
			return
		}
		err := cmd.Start()
		s.current = cmd
		s.mu.Unlock()
		if err != nil {
			t.Errorf("start kioskd: %v", err)
			return
		}
		var exit *exec.ExitError
		if err := cmd.Wait(); err != nil && !errors.As(err, &exit) {
			t.Errorf("kioskd: %v", err)
		}
		time.Sleep(300 * time.Millisecond) // RestartSec
	}
}

// Write collects the kiosk's log; exec calls it from its copying goroutines.
func (s *systemd) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.log.Write(p)
}

// TestRolloutUpdatesRealKiosks: hack/release signs a kioskd 1.1.0 build;
// the console rolls it out in waves of one to two real kioskd 1.0.0, each
// run by `kioskd launch` under a loop playing systemd. Each downloads,
// verifies, installs, restarts into 1.1.0, passes its trial (the console
// acks its test call) and commits; the second wave goes out only after the
// first kiosk committed, and the heartbeats report 1.1.0.
func TestRolloutUpdatesRealKiosks(t *testing.T) {
	broker := brokertest.Start(t)
	bin, artifacts := t.TempDir(), t.TempDir()
	const kioskd = "kioskd/firmware/cmd/kioskd"
	packaged := goBuild(t, bin, "kioskd-1.0.0", kioskd, "-X kioskd/firmware.Version=1.0.0")
	goBuild(t, artifacts, "kioskd-1.1.0", kioskd, "-X kioskd/firmware.Version=1.1.0")
	release := goBuild(t, bin, "release", "kioskd/hack/release", "")
	files := httptest.NewServer(http.FileServer(http.Dir(artifacts)))
	defer files.Close()

	keyPath := filepath.Join(bin, "release.key")
	runTool(t, release, "-genkey", keyPath)
	releaseJSON := runTool(t, release, "-key", keyPath, "-version", "1.1.0", "-url", files.URL+"/kioskd-1.1.0",
		filepath.Join(artifacts, "kioskd-1.1.0"))

	c, stationKey := startConsole(t, broker.URL(), "station", time.Minute)
	web := httptest.NewServer(c.Handler())
	defer web.Close()
	commandKey := writePublicKey(t, stationKey)
	for _, id := range []string{"k-a", "k-b"} {
		cfg := fleetConfig(t, id, broker.URL(), commandKey, keyPath+".pub")
		cfg.Update.TrialDeadline = config.Duration{Duration: 20 * time.Second}
		data, err := toml.Marshal(cfg)
		if err != nil {
			t.Fatal(err)
		}
		cfgPath := filepath.Join(t.TempDir(), "kioskd.toml")
		if err := os.WriteFile(cfgPath, data, 0o600); err != nil {
			t.Fatal(err)
		}
		startUnit(t, packaged, cfgPath)
	}
	waitFor(t, "both kiosks' heartbeats at 1.0.0", func() bool { return heartbeatVersions(c) == "k-a 1.0.0, k-b 1.0.0" })

	var rel contract.UpdateArgs
	if err := json.Unmarshal(releaseJSON, &rel); err != nil {
		t.Fatalf("hack/release printed %s: %v", releaseJSON, err)
	}
	var v RolloutView
	if code := postJSON(t, web.URL+"/api/rollouts", RolloutRequest{Kind: contract.CmdUpdate, All: true, Release: &rel, WaveSize: 1}, &v); code != http.StatusAccepted {
		t.Fatalf("POST update rollout: %d %+v", code, v)
	}
	started := time.Now()
	v = waitRollout(t, c, v.ID, "the rollout to end", 3*time.Minute, func(v RolloutView) bool { return v.State != RolloutRunning })
	t.Logf("rollout of 1.1.0 to 2 kiosks in waves of 1: %s", time.Since(started).Round(100*time.Millisecond))
	if v.State != RolloutDone || v.Counts.OK != 2 {
		t.Fatalf("rollout %s with %+v; want done, 2 committed", v.State, v.Counts)
	}
	a, b := target(v, "k-a"), target(v, "k-b")
	for _, tv := range []TargetView{a, b} {
		var steps []string
		for _, s := range tv.Steps {
			steps = append(steps, shortType(s.Type))
		}
		if want := []string{"downloading", "verified", "installed", "committed"}; !slices.Equal(steps, want) {
			t.Errorf("%s: steps %v, want %v", tv.Kiosk, steps, want)
		}
	}
	if committed, _ := a.final(contract.CmdUpdate); b.SentAt.Before(committed.At) {
		t.Errorf("k-b was sent its update at %v, before k-a committed at %v", b.SentAt, committed.At)
	}
	waitFor(t, "both heartbeats at 1.1.0", func() bool { return heartbeatVersions(c) == "k-a 1.1.0, k-b 1.1.0" })
}

// heartbeatVersions says which version each kiosk's heartbeat reports.
func heartbeatVersions(c *Console) string {
	var out []string
	for _, k := range c.View().Kiosks {
		if k.Heartbeat != nil {
			out = append(out, k.ID+" "+k.Heartbeat.Version)
		}
	}
	return strings.Join(out, ", ")
}
