package main

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
	"time"

	"kioskd/hack/brokertest"
)

// brokerLimits are the mosquitto settings a fleet needs beyond
// brokertest's defaults. Zero keeps mosquitto's own default.
type brokerLimits struct {
	MaxQueued   int // max_queued_messages per client (mosquitto default 1000)
	MaxInflight int // max_inflight_messages per client (mosquitto default 20)
}

// broker is a mosquitto process on a fixed loopback port that can be
// killed with SIGKILL and started again on the same port. brokertest.Broker
// has no knob for the queue limits a fleet of thousands needs, hence this
// small launcher; it reuses brokertest for the binary and the port.
type broker struct {
	bin, conf, log string
	port           int

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

func launchBroker(dir string, lim brokerLimits) (*broker, error) {
	bin, err := brokertest.Binary()
	if err != nil {
		return nil, err
	}
	port, err := brokertest.PickPort()
	if err != nil {
		return nil, err
	}
	b := &broker{bin: bin, port: port,
		conf: filepath.Join(dir, "mosquitto.conf"), log: filepath.Join(dir, "mosquitto.log")}
	if err := os.WriteFile(b.conf, []byte(brokerConfig(port, lim)), 0o600); err != nil {
		return nil, fmt.Errorf("write mosquitto config: %w", err)
	}
	return b, b.start()
}

func brokerConfig(port int, lim brokerLimits) string {
	conf := fmt.Sprintf("listener %d 127.0.0.1\nallow_anonymous true\npersistence false\n", port)
	conf += "set_tcp_nodelay true\nmax_connections -1\n"
	if lim.MaxQueued > 0 {
		conf += fmt.Sprintf("max_queued_messages %d\n", lim.MaxQueued)
	}
	if lim.MaxInflight > 0 {
		conf += fmt.Sprintf("max_inflight_messages %d\n", lim.MaxInflight)
	}
	conf += "log_dest stderr\nlog_type error\nlog_type warning\n"
	if os.Geteuid() == 0 {
		conf += "user root\n" // else mosquitto switches to user "mosquitto"
	}
	return conf
}

func (b *broker) url() string {
	return "tcp://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(b.port))
}

// pid is the running broker's process id, or 0.
func (b *broker) pid() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cmd == nil {
		return 0
	}
	return b.cmd.Process.Pid
}

func (b *broker) start() error {
	log, err := os.OpenFile(b.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("start mosquitto: %w", err)
	}
	defer log.Close()
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
	if err := waitAccepting(net.JoinHostPort("127.0.0.1", strconv.Itoa(b.port)), done); err != nil {
		b.signal(syscall.SIGKILL)
		out, _ := os.ReadFile(b.log)
		return fmt.Errorf("mosquitto on port %d: %w; output:\n%s", b.port, err, out)
	}
	return nil
}

// kill ends the broker with SIGKILL, as a crash would.
func (b *broker) kill() { b.signal(syscall.SIGKILL) }

// stop ends the broker with SIGTERM.
func (b *broker) stop() { b.signal(syscall.SIGTERM) }

func (b *broker) signal(sig syscall.Signal) {
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
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}

// logLines returns the broker's log (errors and warnings only, less the
// warning about running as root): how many lines and the first few.
func (b *broker) logLines() (int, []string) {
	out, err := os.ReadFile(b.log)
	if err != nil {
		return 0, nil
	}
	var lines []string
	for _, l := range strings.Split(string(out), "\n") {
		if l != "" && !strings.Contains(l, "should not be run as root") {
			lines = append(lines, l)
		}
	}
	return len(lines), lines[:min(len(lines), 5)]
}

func waitAccepting(addr string, exited <-chan struct{}) error {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return errors.New("exited before accepting connections")
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			_ = c.Close()
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return errors.New("not accepting connections after 10s")
}

// raiseFileLimit sets the soft limit on open files to the hard limit and
// returns it. Go raises its own soft limit at start but gives children the
// original one back; an explicit Setrlimit is inherited by mosquitto too.
func raiseFileLimit() (uint64, error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, fmt.Errorf("getrlimit: %w", err)
	}
	lim.Cur = lim.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, fmt.Errorf("setrlimit: %w", err)
	}
	return lim.Cur, nil
}
