package main

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
	"time"
)

// mosquitto is one real mosquitto process on a fixed port of 127.0.0.1 that
// the scenarios stop, kill and start again. It needs no testing.TB, unlike
// hack/brokertest, because the harness is a program.
type mosquitto struct {
	bin  string
	conf string
	port int

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
	out  *lockedBuffer
}

// findMosquitto returns the mosquitto binary, or "" when it is not installed.
func findMosquitto() string {
	if p, err := exec.LookPath("mosquitto"); err == nil {
		return p
	}
	const debian = "/usr/sbin/mosquitto" // not on a normal user's PATH
	if _, err := os.Stat(debian); err == nil {
		return debian
	}
	return ""
}

// startMosquitto writes a config into dir and starts the broker on a free port.
func startMosquitto(dir string) (*mosquitto, error) {
	bin := findMosquitto()
	if bin == "" {
		return nil, fmt.Errorf("mosquitto not found; install the mosquitto apt package")
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	m := &mosquitto{bin: bin, port: port, conf: filepath.Join(dir, "mosquitto.conf")}
	// set_tcp_nodelay: without it every round trip waits ~40 ms on Nagle.
	conf := fmt.Sprintf("listener %d 127.0.0.1\nallow_anonymous true\npersistence false\n"+
		"set_tcp_nodelay true\nlog_dest stderr\nlog_type error\nlog_type warning\n", port)
	if os.Geteuid() == 0 {
		conf += "user root\n" // as root, mosquitto would switch to user "mosquitto"
	}
	if err := os.WriteFile(m.conf, []byte(conf), 0o600); err != nil {
		return nil, fmt.Errorf("write mosquitto config: %w", err)
	}
	return m, m.start()
}

func (m *mosquitto) addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(m.port)) }
func (m *mosquitto) url() string  { return "tcp://" + m.addr() }

// start runs the broker and waits until it accepts connections.
func (m *mosquitto) start() error {
	out := &lockedBuffer{}
	cmd := exec.Command(m.bin, "-c", m.conf)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start mosquitto: %w", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	m.mu.Lock()
	m.cmd, m.done, m.out = cmd, done, out
	m.mu.Unlock()
	if err := waitAccepting(m.addr(), done, 10*time.Second); err != nil {
		m.signal(syscall.SIGKILL)
		return fmt.Errorf("mosquitto on %s: %w; output: %s", m.addr(), err, out.String())
	}
	return nil
}

// signal sends sig to the broker and waits for it to exit (SIGKILL after
// 10 s); a no-op when it is not running.
func (m *mosquitto) signal(sig syscall.Signal) {
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
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}

func (m *mosquitto) close() { m.signal(syscall.SIGKILL) }

// waitAccepting dials addr until it answers, the process exits or time runs out.
func waitAccepting(addr string, exited <-chan struct{}, limit time.Duration) error {
	for deadline := time.Now().Add(limit); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		select {
		case <-exited:
			return fmt.Errorf("exited before accepting connections")
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			_ = c.Close()
			return nil
		}
	}
	return fmt.Errorf("not accepting connections after %v", limit)
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
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
