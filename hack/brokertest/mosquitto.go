// Package brokertest runs a real mosquitto on 127.0.0.1 for tests and for the
// fault harness, with a small platform-side MQTT client and a TCP proxy that
// can cut, stall, reset, black-hole, delay or throttle connections.
package brokertest

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const (
	startTimeout = 10 * time.Second
	stopTimeout  = 10 * time.Second
)

// ErrNotInstalled is returned by Binary and Launch when there is no mosquitto.
var ErrNotInstalled = errors.New("mosquitto not found; install the mosquitto apt package")

// Options are the broker settings beyond the defaults.
type Options struct {
	// NoDelay sets set_tcp_nodelay; without it every round trip waits
	// ~40 ms on Nagle.
	NoDelay bool
	// TLS, if set, makes the listener TLS with client certificates; see tls.go.
	TLS *TLS
	// Extra is appended to the config as it is, e.g. the queue limits a
	// fleet of thousands needs ("max_queued_messages 100000\n").
	Extra string
	// Conf, if set, is the whole config instead (logging aside), as a test
	// of a documented configuration needs it: it opens its own listeners,
	// one of them on 127.0.0.1:Port, the broker's URL (ssl:// if TLS is
	// set, whose fields are then unused).
	Conf string
	Port int
}

// Broker is one mosquitto process bound to a fixed port on 127.0.0.1. It
// needs no testing.TB, so programs such as hack/faults can use it; tests
// use Start.
type Broker struct {
	bin  string
	conf string
	log  string // mosquitto's output, read when it fails to start
	port int
	tls  bool

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
}

// Launch writes a config and a log file into dir and runs mosquitto on a
// free port, returning once it accepts connections.
func Launch(dir string, o Options) (*Broker, error) {
	bin, err := Binary()
	if err != nil {
		return nil, err
	}
	port, err := o.Port, error(nil)
	if o.Conf == "" {
		port, err = PickPort()
	}
	if err != nil {
		return nil, err
	}
	b := &Broker{bin: bin, port: port, tls: o.TLS != nil,
		conf: filepath.Join(dir, "mosquitto.conf"), log: filepath.Join(dir, "mosquitto.log")}
	if err := os.WriteFile(b.conf, []byte(config(port, o)), 0o600); err != nil {
		return nil, fmt.Errorf("write mosquitto config: %w", err)
	}
	if err := b.start(); err != nil {
		return nil, err
	}
	return b, nil
}

// Pid is the running broker's process id, or 0 when it is not running.
func (b *Broker) Pid() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cmd == nil {
		return 0
	}
	return b.cmd.Process.Pid
}

// LogFile is where mosquitto's errors and warnings go (since its last start).
func (b *Broker) LogFile() string { return b.log }

// URL is the broker address as paho wants it.
func (b *Broker) URL() string {
	if b.tls {
		return "ssl://" + b.Addr()
	}
	return "tcp://" + b.Addr()
}

// Addr is host:port of the listener.
func (b *Broker) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(b.port)) }

// Stop ends the broker with SIGTERM and waits for it; a no-op when it is not running.
func (b *Broker) Stop() { b.signal(syscall.SIGTERM) }

// Kill ends the broker with SIGKILL and waits for it; a no-op when it is not running.
func (b *Broker) Kill() { b.signal(syscall.SIGKILL) }

// Restart starts the broker again on the same port, stopping it first if needed.
func (b *Broker) Restart() error {
	b.Stop()
	return b.start()
}

func config(port int, o Options) string {
	conf := fmt.Sprintf("listener %d 127.0.0.1\nallow_anonymous true\npersistence false\n", port)
	switch {
	case o.Conf != "":
		conf = strings.TrimSuffix(o.Conf, "\n") + "\npersistence false\n"
	case o.TLS != nil:
		conf = fmt.Sprintf("listener %d 127.0.0.1\nallow_anonymous false\npersistence false\n", port) + tlsConfig(o.TLS)
	}
	if o.NoDelay {
		conf += "set_tcp_nodelay true\n"
	}
	conf += o.Extra
	conf += "log_dest stderr\nlog_type error\nlog_type warning\n"
	if os.Geteuid() == 0 {
		// Started as root, mosquitto would switch to user "mosquitto"; stay root instead.
		conf += "user root\n"
	}
	return conf
}

// start runs the broker and waits until it accepts connections.
func (b *Broker) start() error {
	log, err := os.Create(b.log)
	if err != nil {
		return fmt.Errorf("start mosquitto: %w", err)
	}
	defer log.Close() // the process has its own copy
	cmd := exec.Command(b.bin, "-c", b.conf)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start mosquitto: %w", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	b.mu.Lock()
	b.cmd, b.done = cmd, done
	b.mu.Unlock()
	if err := waitAccepting(b.Addr(), done); err != nil {
		b.Kill()
		out, _ := os.ReadFile(b.log)
		return fmt.Errorf("mosquitto on %s: %w; output:\n%s", b.Addr(), err, out)
	}
	return nil
}

// signal sends sig to the broker and waits for it to exit (SIGKILL after
// stopTimeout); a no-op when it is not running.
func (b *Broker) signal(sig syscall.Signal) {
	b.mu.Lock()
	cmd, done := b.cmd, b.done
	b.cmd = nil
	b.mu.Unlock()
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

// picked is every port PickPort has handed out in this process. Tests run
// in parallel (t.Parallel), each with its own broker and kiosks; a port is
// only free "a moment ago", so two tests must at least never be handed the
// same one.
var picked struct {
	sync.Mutex
	ports map[int]bool
}

// PickPort returns a TCP port on 127.0.0.1 that was free a moment ago and
// that it has not returned before in this process.
func PickPort() (int, error) {
	picked.Lock()
	defer picked.Unlock()
	for range 100 {
		port, err := freePort()
		if err != nil {
			return 0, err
		}
		if !picked.ports[port] {
			if picked.ports == nil {
				picked.ports = map[int]bool{}
			}
			picked.ports[port] = true
			return port, nil
		}
	}
	return 0, errors.New("find free port: the kernel keeps offering ports already handed out")
}

// freePort asks the kernel for a port that is free now.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Binary returns the path of the mosquitto binary, or ErrNotInstalled.
func Binary() (string, error) {
	if p, err := exec.LookPath("mosquitto"); err == nil {
		return p, nil
	}
	const debian = "/usr/sbin/mosquitto" // not on a normal user's PATH
	if _, err := os.Stat(debian); err == nil {
		return debian, nil
	}
	return "", ErrNotInstalled
}

// Mosquitto is a Broker owned by a test: errors fail the test and the broker
// stops when the test ends.
type Mosquitto struct {
	*Broker
	t testing.TB
}

// Start runs mosquitto on a free port and stops it when the test ends. Without
// the binary it skips the test, or fails it when $CI is set.
func Start(t testing.TB) *Mosquitto {
	t.Helper()
	RequireMosquitto(t)
	b, err := Launch(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Stop)
	return &Mosquitto{Broker: b, t: t}
}

// Restart starts the broker again on the same port, stopping it first if
// needed; it fails the test if the broker does not come back.
func (m *Mosquitto) Restart() {
	m.t.Helper()
	if err := m.Broker.Restart(); err != nil {
		m.t.Fatal(err)
	}
}

// RequireMosquitto skips the test when mosquitto is not installed, or fails
// it when $CI is set, so CI cannot pass by skipping.
func RequireMosquitto(t testing.TB) {
	t.Helper()
	if _, err := Binary(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	port, err := PickPort()
	if err != nil {
		t.Fatal(err)
	}
	return port
}
