package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// kioskd is the real daemon binary, run with simulated devices. A process
// that exits without the harness asking is a crash, and counted.
type kioskd struct {
	bin     string
	cfgPath string
	base    string   // http://host:port
	env     []string // extra environment, e.g. KIOSKD_WALL_OFFSET
	client  *http.Client

	mu       sync.Mutex
	cmd      *exec.Cmd
	exited   chan struct{}
	expected bool // the harness killed or stopped it
	crashes  []string
	log      *lockedBuffer
}

func newKioskd(bin, cfgPath, httpAddr string) *kioskd {
	return &kioskd{bin: bin, cfgPath: cfgPath, base: "http://" + httpAddr,
		client: &http.Client{Timeout: 2 * time.Second}}
}

// start runs kioskd and waits until its HTTP server answers (healthy or not:
// a kiosk on a full disk may rightly answer 503).
func (k *kioskd) start() error {
	if err := k.launch(); err != nil {
		return err
	}
	return k.waitUp()
}

// launch starts the process without waiting for it.
func (k *kioskd) launch() error {
	log := &lockedBuffer{}
	cmd := exec.Command(k.bin, "-config", k.cfgPath)
	cmd.Env = append(os.Environ(), k.env...)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start kioskd: %w", err)
	}
	exited := make(chan struct{})
	k.mu.Lock()
	k.cmd, k.exited, k.expected, k.log = cmd, exited, false, log
	k.mu.Unlock()
	go k.wait(cmd, exited, log)
	return nil
}

// waitUp waits until the HTTP server answers.
func (k *kioskd) waitUp() error {
	k.mu.Lock()
	exited, log := k.exited, k.log
	k.mu.Unlock()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		select {
		case <-exited:
			return fmt.Errorf("kioskd exited at start: %s", log.tail(2000))
		default:
		}
		if code, _, err := k.health(); err == nil && code > 0 {
			return nil
		}
	}
	k.kill()
	return fmt.Errorf("kioskd not answering HTTP within 10s: %s", log.tail(2000))
}

func (k *kioskd) wait(cmd *exec.Cmd, exited chan struct{}, log *lockedBuffer) {
	err := cmd.Wait()
	k.mu.Lock()
	if !k.expected {
		k.crashes = append(k.crashes, fmt.Sprintf("kioskd exited by itself (%v): %s", err, log.tail(1500)))
	}
	k.mu.Unlock()
	close(exited)
}

// alive reports whether the process is running.
func (k *kioskd) alive() bool {
	k.mu.Lock()
	exited := k.exited
	k.mu.Unlock()
	if exited == nil {
		return false
	}
	select {
	case <-exited:
		return false
	default:
		return true
	}
}

// kill sends SIGKILL: no goodbye, no flush, as a power cut or the OOM killer would.
func (k *kioskd) kill() { k.signal(syscall.SIGKILL) }

// stop sends SIGTERM and waits up to 10 s before killing.
func (k *kioskd) stop() { k.signal(syscall.SIGTERM) }

func (k *kioskd) signal(sig syscall.Signal) {
	k.mu.Lock()
	cmd, exited := k.cmd, k.exited
	k.expected = true
	k.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(sig)
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-exited
	}
}

// takeCrashes returns the crashes seen since the last call.
func (k *kioskd) takeCrashes() []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	c := k.crashes
	k.crashes = nil
	return c
}

// press presses a simulated button for 40 ms. 202 means only that the
// simulated contact went down; the journal decides whether it counts.
func (k *kioskd) press(button string) error {
	body := strings.NewReader(`{"hold_ms": 40}`)
	resp, err := k.client.Post(k.base+"/api/sim/buttons/"+button+"/press", "application/json", body)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusAccepted {
		return fmt.Errorf("press %s: HTTP %d", button, resp.StatusCode)
	}
	return nil
}

// stateView is the part of GET /api/state the harness reads.
type stateView struct {
	Time      time.Time  `json:"time"`
	Incidents []incident `json:"incidents"`
	Faults    []struct {
		Key    string `json:"key"`
		Detail string `json:"detail"`
	} `json:"faults"`
	Link struct {
		Connected bool `json:"connected"`
		InFlight  int  `json:"in_flight"`
	} `json:"link"`
}

// incident is the part of an open incident the harness checks.
type incident struct {
	ID           string    `json:"id"`
	Request      string    `json:"request"`
	Presses      int       `json:"presses"`
	RegisteredAt time.Time `json:"registered_at"`
	CallbackDue  time.Time `json:"callback_due"`
	CloseDue     time.Time `json:"close_due"`
}

// presses is the number of presses counted in the open incidents.
func (s stateView) presses() int {
	n := 0
	for _, in := range s.Incidents {
		n += in.Presses
	}
	return n
}

func (k *kioskd) state() (stateView, error) {
	var s stateView
	resp, err := k.client.Get(k.base + "/api/state")
	if err != nil {
		return s, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return s, fmt.Errorf("GET /api/state: HTTP %d", resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		return s, fmt.Errorf("GET /api/state: %w", err)
	}
	return s, nil
}

// health returns the /healthz status code and body.
func (k *kioskd) health() (int, string, error) {
	resp, err := k.client.Get(k.base + "/healthz")
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 8<<10))
	return resp.StatusCode, string(b), nil
}

// lockedBuffer collects process output written from exec's goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// tail returns the last n bytes of the output.
func (b *lockedBuffer) tail(n int) string {
	s := b.String()
	if len(s) > n {
		s = "…" + s[len(s)-n:]
	}
	return s
}
