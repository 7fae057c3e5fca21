package main

import (
	"debug/elf"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
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

// TestSimUnderQemu runs the static arm64 and armhf kioskd binaries (built as
// the packages build them) under qemu-user-static, in simulation mode,
// against a real mosquitto on 127.0.0.1: a press on the simulated police
// button must reach the broker as incident.registered.
func TestSimUnderQemu(t *testing.T) {
	brokertest.RequireMosquitto(t)
	targets := []struct {
		arch, qemu string
		machine    elf.Machine
	}{
		{"arm64", "qemu-aarch64-static", elf.EM_AARCH64},
		{"armhf", "qemu-arm-static", elf.EM_ARM},
	}
	for _, tt := range targets {
		t.Run(tt.arch, func(t *testing.T) {
			requireTools(t, tt.qemu)
			bin := filepath.Join(t.TempDir(), "kioskd")
			if err := BuildBinary(tt.arch, "0.0.0-qemu", bin); err != nil {
				t.Fatal(err)
			}
			checkStatic(t, bin, tt.machine)
			if out, err := exec.Command(tt.qemu, bin, "version").CombinedOutput(); err != nil || strings.TrimSpace(string(out)) != "kioskd 0.0.0-qemu" {
				t.Fatalf("%s kioskd version = %q, %v; want kioskd 0.0.0-qemu", tt.qemu, out, err)
			}
			pressReachesBroker(t, tt.qemu, bin)
		})
	}
}

// checkStatic checks bin is an ELF for machine with no program interpreter
// (statically linked, so it runs on any Debian of that architecture).
func checkStatic(t *testing.T, bin string, machine elf.Machine) {
	t.Helper()
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.Machine != machine {
		t.Errorf("%s is for %v, want %v", bin, f.Machine, machine)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("%s has a program interpreter: not static", bin)
		}
	}
}

func pressReachesBroker(t *testing.T, qemu, bin string) {
	broker := brokertest.Start(t)
	cfg := config.Sim(t.TempDir())
	cfg.MQTT.Broker = broker.URL()
	cfg.HTTP.Listen = fmt.Sprintf("127.0.0.1:%d", brokertest.FreePort(t))
	data, err := toml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(t.TempDir(), "kioskd.toml")
	if err := os.WriteFile(cfgPath, data, 0o600); err != nil {
		t.Fatal(err)
	}
	topics, _ := contract.NewTopics(cfg.MQTT.TopicRoot, cfg.Kiosk.ID)
	events := brokertest.Connect(t, broker.URL()).Subscribe(topics.Events())

	log := &lockedBuffer{}
	cmd := exec.Command(qemu, bin, "-config", cfgPath)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() { cmd.Process.Signal(syscall.SIGKILL); <-exited })
	defer func() {
		if t.Failed() {
			t.Logf("kioskd log:\n%s", log)
		}
	}()

	base := "http://" + cfg.HTTP.Listen
	waitHealthy(t, base, exited)
	resp, err := http.Post(base+"/api/sim/buttons/police/press", "application/json", nil)
	if err != nil || resp.StatusCode != http.StatusAccepted {
		t.Fatalf("press: %v %v", err, resp)
	}
	resp.Body.Close()
	for deadline := time.After(30 * time.Second); ; {
		select {
		case m := <-events:
			var ev contract.Event
			if err := json.Unmarshal(m.Payload, &ev); err != nil {
				t.Fatalf("event %s: %v", m.Payload, err)
			}
			if ev.Type == "incident.registered" && ev.Kiosk == cfg.Kiosk.ID && ev.Incident != "" {
				return
			}
		case <-deadline:
			t.Fatal("no incident.registered at the broker within 30 s of the press")
		}
	}
}

// waitHealthy waits up to 60 s (emulation is slow) for /healthz to say 200.
func waitHealthy(t *testing.T, base string, exited <-chan struct{}) {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		select {
		case <-exited:
			t.Fatal("kioskd exited")
		default:
		}
		if resp, err := http.Get(base + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
	}
	t.Fatal("kioskd not healthy within 60 s")
}

type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
