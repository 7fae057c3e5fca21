package firmware_test

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"kioskd/firmware/testhooks"
	"kioskd/hack/brokertest"
)

// notifyListener plays systemd's side of sd_notify: a datagram socket that
// records every message kioskd sends, in order, with its arrival time.
type notifyListener struct {
	path string
	conn *net.UnixConn
	mu   sync.Mutex
	msgs []notifyMsg
}

type notifyMsg struct {
	at    time.Time
	state string
}

func listenNotify(t *testing.T) *notifyListener {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	l := &notifyListener{path: path, conn: conn}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 4096)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				return // closed at cleanup
			}
			l.mu.Lock()
			l.msgs = append(l.msgs, notifyMsg{at: time.Now(), state: string(buf[:n])})
			l.mu.Unlock()
		}
	}()
	t.Cleanup(func() { conn.Close(); <-done })
	return l
}

func (l *notifyListener) since(t0 time.Time) []notifyMsg {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []notifyMsg
	for _, m := range l.msgs {
		if !m.at.Before(t0) {
			out = append(out, m)
		}
	}
	return out
}

// waitFor waits up to timeout for a message after t0 containing s, and
// returns its arrival time.
func (l *notifyListener) waitFor(t *testing.T, t0 time.Time, s string, timeout time.Duration) time.Time {
	t.Helper()
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		for _, m := range l.since(t0) {
			if strings.Contains(m.state, s) {
				return m.at
			}
		}
	}
	t.Fatalf("no %q from kioskd within %v; got %+v", s, timeout, l.since(t0))
	return time.Time{}
}

func pings(msgs []notifyMsg) []time.Time {
	var out []time.Time
	for _, m := range msgs {
		if strings.Contains(m.state, "WATCHDOG=1") {
			out = append(out, m.at)
		}
	}
	return out
}

// TestSystemWatchdog runs the real kioskd under a small NOTIFY_SOCKET
// listener, as systemd would with WatchdogSec=1s: READY=1 arrives, then a
// WATCHDOG=1 every half second; a broker that goes away does not stop them;
// a stalled controller loop does, until it turns again.
//
// The stall is testhooks.StallControllerEnv: it holds the controller's own
// goroutine inside its loop after the first press is journaled. Stopping the
// whole process (SIGSTOP) would stop the pings too, but would prove nothing
// about what the pings mean; this stops only the loop, and kioskd's watchdog,
// still running, has to notice.
func TestSystemWatchdog(t *testing.T) {
	const stall = 9 * time.Second
	broker := brokertest.Start(t)
	cfgPath, httpAddr := simConfig(t, t.TempDir(), broker.URL())
	sd := listenNotify(t)
	t0 := time.Now()
	k := &kioskProc{t: t, http: "http://" + httpAddr, log: &strings.Builder{}}
	k.cmd = exec.Command(kioskdBin, "-config", cfgPath)
	k.cmd.Env = append(os.Environ(), "NOTIFY_SOCKET="+sd.path, "WATCHDOG_USEC=1000000",
		testhooks.StallControllerEnv+"="+stall.String())
	k.logw = &syncWriter{w: k.log}
	k.cmd.Stdout, k.cmd.Stderr = k.logw, k.logw
	if err := k.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	k.exited = make(chan struct{})
	go func() { k.cmd.Wait(); close(k.exited) }()
	t.Cleanup(k.kill)
	defer func() {
		if t.Failed() {
			t.Logf("kioskd log:\n%s", k.logText())
		}
	}()

	sd.waitFor(t, t0, "READY=1", 10*time.Second)
	sd.waitFor(t, t0, "platform online", 10*time.Second)

	broker.Stop()
	offline := sd.waitFor(t, t0, "platform offline", 10*time.Second)
	time.Sleep(2 * time.Second)
	if n := len(pings(sd.since(offline))); n < 3 {
		t.Errorf("%d pings in the 2 s after the broker went away, want at least 3 (one every 500 ms)", n)
	}

	pressed := time.Now()
	k.press("police")
	broken := sd.waitFor(t, pressed, "ALARM PATH BROKEN", 10*time.Second)
	mended := sd.waitFor(t, broken, "alarm path ok", stall+5*time.Second)
	if n := len(pings(sd.since(broken.Add(time.Nanosecond)))) - len(pings(sd.since(mended))); n != 0 {
		t.Errorf("%d pings while the controller loop was stalled, want none", n)
	}
	if gap := mended.Sub(broken); gap < 2*time.Second {
		t.Errorf("pings withheld for %v only; the stall lasted %v", gap, stall)
	}
	time.Sleep(1500 * time.Millisecond)
	if n := len(pings(sd.since(mended))); n < 2 {
		t.Errorf("%d pings in the 1.5 s after the loop turned again, want at least 2", n)
	}
	if s := k.state(); len(s.Incidents) != 1 {
		t.Errorf("incidents after the stall: %+v, want the one press", s.Incidents)
	}

	stopped := time.Now()
	k.cmd.Process.Signal(syscall.SIGTERM)
	sd.waitFor(t, stopped, "STOPPING=1", 10*time.Second)
	select {
	case <-k.exited:
	case <-time.After(10 * time.Second):
		t.Fatal("kioskd still running 10 s after SIGTERM")
	}
}
