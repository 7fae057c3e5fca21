package systemd

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"
)

// The environment systemd sets for a Type=notify service (sd_notify(3),
// sd_watchdog_enabled(3)).
const (
	notifySocketEnv = "NOTIFY_SOCKET"
	watchdogUsecEnv = "WATCHDOG_USEC"
	watchdogPIDEnv  = "WATCHDOG_PID"
)

// notifier sends sd_notify datagrams ("READY=1", "WATCHDOG=1", "STATUS=…")
// to the socket systemd names in $NOTIFY_SOCKET. Each message is one
// datagram on a fresh socket, as sd_notify does, so a service manager that
// re-executed itself is still reached.
type notifier struct {
	addr *net.UnixAddr
}

// systemdFromEnv reads what systemd told kioskd: where to send notifications
// (nil when not started by systemd) and how often to ping the watchdog (zero
// when it wants no pings: half of $WATCHDOG_USEC, as sd_watchdog_enabled
// advises). The variables stay set: a binary that replaces kioskd by exec
// (same PID) must find them, and systemd (NotifyAccess=main) ignores what
// child processes might send.
func systemdFromEnv() (*notifier, time.Duration, error) {
	socket := os.Getenv(notifySocketEnv)
	if socket == "" {
		return nil, 0, nil
	}
	n, err := newNotifier(socket)
	if err != nil {
		return nil, 0, err
	}
	every, err := watchdogEvery(os.Getenv(watchdogUsecEnv), os.Getenv(watchdogPIDEnv), os.Getpid())
	return n, every, err
}

// newNotifier accepts a file system path or an abstract socket ("@name").
func newNotifier(socket string) (*notifier, error) {
	if !strings.HasPrefix(socket, "/") && !strings.HasPrefix(socket, "@") {
		return nil, fmt.Errorf("%s=%q: only unix sockets (a path or @abstract) are supported", notifySocketEnv, socket)
	}
	// Go maps a leading "@" to Linux's abstract namespace itself.
	return &notifier{addr: &net.UnixAddr{Name: socket, Net: "unixgram"}}, nil
}

// watchdogEvery turns $WATCHDOG_USEC into the ping period: half of it. A
// $WATCHDOG_PID naming another process means the watchdog is not ours.
func watchdogEvery(usec, pid string, self int) (time.Duration, error) {
	if usec == "" {
		return 0, nil
	}
	if pid != "" && pid != strconv.Itoa(self) {
		return 0, nil
	}
	n, err := strconv.ParseUint(usec, 10, 63)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("%s=%q: want a positive number of microseconds", watchdogUsecEnv, usec)
	}
	return time.Duration(n) * time.Microsecond / 2, nil
}

// send delivers one notification: newline-separated assignments such as
// "READY=1\nSTATUS=running". A nil notifier (not under systemd) accepts
// every message and sends nothing.
func (n *notifier) send(state string) error {
	if n == nil {
		return nil
	}
	conn, err := net.DialUnix("unixgram", nil, n.addr)
	if err != nil {
		return fmt.Errorf("sd_notify: %w", err)
	}
	defer conn.Close()
	if err := conn.SetWriteDeadline(time.Now().Add(time.Second)); err != nil {
		return fmt.Errorf("sd_notify: %w", err)
	}
	if _, err := conn.Write([]byte(state)); err != nil {
		return fmt.Errorf("sd_notify: %w", err)
	}
	return nil
}
