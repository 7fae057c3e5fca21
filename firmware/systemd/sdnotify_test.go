package systemd

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestWatchdogEvery(t *testing.T) {
	tests := []struct {
		usec, pid string
		want      time.Duration
		wantErr   bool
	}{
		{usec: "", want: 0},
		{usec: "30000000", want: 15 * time.Second},
		{usec: "2000000", pid: "4242", want: time.Second},
		{usec: "2000000", pid: "17", want: 0}, // another process's watchdog
		{usec: "0", wantErr: true},
		{usec: "-5", wantErr: true},
		{usec: "30s", wantErr: true},
	}
	for _, tt := range tests {
		got, err := watchdogEvery(tt.usec, tt.pid, 4242)
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("watchdogEvery(%q, %q) = %v, %v; want %v, error %v", tt.usec, tt.pid, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestNewNotifierRefusesOtherSockets(t *testing.T) {
	for _, socket := range []string{"run/notify", "vsock:2:1234"} {
		if _, err := newNotifier(socket); err == nil {
			t.Errorf("newNotifier(%q): no error, want one", socket)
		}
	}
}

// TestNotifierDelivers sends to a real datagram socket, by path and in the
// abstract namespace, as systemd offers both.
func TestNotifierDelivers(t *testing.T) {
	sockets := []string{
		filepath.Join(t.TempDir(), "notify"),
		fmt.Sprintf("@kioskd-test-%d-%d", os.Getpid(), time.Now().UnixNano()),
	}
	for _, socket := range sockets {
		conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: socket, Net: "unixgram"})
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		n, err := newNotifier(socket)
		if err != nil {
			t.Fatal(err)
		}
		if err := n.send("READY=1\nSTATUS=ok"); err != nil {
			t.Fatalf("send to %s: %v", socket, err)
		}
		conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		buf := make([]byte, 256)
		k, err := conn.Read(buf)
		if got, want := string(buf[:k]), "READY=1\nSTATUS=ok"; err != nil || got != want {
			t.Errorf("%s received %q, %v; want %q", socket, got, err, want)
		}
	}
}

func TestSystemdFromEnv(t *testing.T) {
	tests := []struct {
		socket, usec, pid string
		wantNotifier      bool
		wantEvery         time.Duration
	}{
		{socket: "", usec: "20000000", wantNotifier: false, wantEvery: 0}, // not under systemd
		{socket: "/run/systemd/notify", wantNotifier: true, wantEvery: 0},
		{socket: "/run/systemd/notify", usec: "20000000", pid: fmt.Sprint(os.Getpid()), wantNotifier: true, wantEvery: 10 * time.Second},
	}
	for _, tt := range tests {
		t.Setenv(notifySocketEnv, tt.socket)
		t.Setenv(watchdogUsecEnv, tt.usec)
		t.Setenv(watchdogPIDEnv, tt.pid)
		n, every, err := systemdFromEnv()
		if (n != nil) != tt.wantNotifier || every != tt.wantEvery || err != nil {
			t.Errorf("NOTIFY_SOCKET=%q WATCHDOG_USEC=%q: notifier %v, every %v, err %v; want notifier %v, every %v",
				tt.socket, tt.usec, n, every, err, tt.wantNotifier, tt.wantEvery)
		}
	}
}
