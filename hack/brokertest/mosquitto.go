// Package brokertest runs a real mosquitto on 127.0.0.1 for tests, with a small
// platform-side MQTT client and a TCP proxy that can cut or stall connections.
package brokertest

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

const (
	aptPackage   = "mosquitto"
	startTimeout = 10 * time.Second
	stopTimeout  = 10 * time.Second
)

// Mosquitto is one mosquitto process bound to a fixed port on 127.0.0.1.
type Mosquitto struct {
	t    testing.TB
	bin  string
	conf string
	port int

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
}

// Start runs mosquitto on a free port and stops it when the test ends. Without
// the binary it skips the test, or fails it when $CI is set.
func Start(t testing.TB) *Mosquitto {
	t.Helper()
	bin := findBinary()
	if bin == "" {
		msg := "mosquitto not found; install the " + aptPackage + " apt package"
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	m := &Mosquitto{t: t, bin: bin, port: FreePort(t)}
	m.conf = filepath.Join(t.TempDir(), "mosquitto.conf")
	if err := os.WriteFile(m.conf, []byte(m.config()), 0o600); err != nil {
		t.Fatalf("write mosquitto config: %v", err)
	}
	t.Cleanup(m.Stop)
	m.start()
	return m
}

// URL is the broker address as paho wants it.
func (m *Mosquitto) URL() string { return "tcp://" + m.Addr() }

// Addr is host:port of the listener.
func (m *Mosquitto) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(m.port)) }

// Stop ends the broker with SIGTERM and waits for it; a no-op when it is not running.
func (m *Mosquitto) Stop() { m.signal(syscall.SIGTERM) }

// Kill ends the broker with SIGKILL and waits for it.
func (m *Mosquitto) Kill() { m.signal(syscall.SIGKILL) }

// Restart starts the broker again on the same port, stopping it first if needed.
func (m *Mosquitto) Restart() {
	m.t.Helper()
	m.Stop()
	m.start()
}

func (m *Mosquitto) config() string {
	conf := fmt.Sprintf("listener %d 127.0.0.1\nallow_anonymous true\npersistence false\n"+
		"log_dest stderr\nlog_type error\nlog_type warning\n", m.port)
	if os.Geteuid() == 0 {
		// Started as root, mosquitto would switch to user "mosquitto"; stay root instead.
		conf += "user root\n"
	}
	return conf
}

func (m *Mosquitto) start() {
	m.t.Helper()
	out := &lockedBuffer{}
	cmd := exec.Command(m.bin, "-c", m.conf)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		m.t.Fatalf("start mosquitto: %v", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	m.mu.Lock()
	m.cmd, m.done = cmd, done
	m.mu.Unlock()
	if err := waitAccepting(m.Addr(), done); err != nil {
		m.Kill()
		m.t.Fatalf("mosquitto on %s: %v; output:\n%s", m.Addr(), err, out.String())
	}
}

func (m *Mosquitto) signal(sig syscall.Signal) {
	m.mu.Lock()
	cmd, done := m.cmd, m.done
	m.cmd = nil
	m.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(sig)
	select {
	case <-done:
	case <-time.After(stopTimeout):
		_ = cmd.Process.Kill()
		<-done
	}
}

// waitAccepting dials addr until it answers, the process exits or time runs out.
func waitAccepting(addr string, exited <-chan struct{}) error {
	deadline := time.Now().Add(startTimeout)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return fmt.Errorf("exited before accepting connections")
		default:
		}
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			_ = c.Close()
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("not accepting connections after %v", startTimeout)
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("find free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func findBinary() string {
	if p, err := exec.LookPath("mosquitto"); err == nil {
		return p
	}
	const debian = "/usr/sbin/mosquitto" // not on a normal user's PATH
	if _, err := os.Stat(debian); err == nil {
		return debian
	}
	return ""
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
