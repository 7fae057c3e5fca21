package main

import (
	"fmt"
	"os"
	"strings"
	"syscall"

	"kioskd/hack/brokertest"
)

// brokerLimits are the mosquitto settings a fleet needs beyond
// brokertest's defaults. Zero keeps mosquitto's own default.
type brokerLimits struct {
	MaxQueued   int // max_queued_messages per client (mosquitto default 1000)
	MaxInflight int // max_inflight_messages per client (mosquitto default 20)
}

// broker is brokertest's mosquitto on a fixed loopback port, killed with
// SIGKILL and started again on the same port during a run.
type broker struct{ *brokertest.Broker }

func launchBroker(dir string, lim brokerLimits) (*broker, error) {
	b, err := brokertest.Launch(dir, brokertest.Options{NoDelay: true, Extra: limitsConfig(lim)})
	if err != nil {
		return nil, err
	}
	return &broker{b}, nil
}

func limitsConfig(lim brokerLimits) string {
	conf := "max_connections -1\n"
	if lim.MaxQueued > 0 {
		conf += fmt.Sprintf("max_queued_messages %d\n", lim.MaxQueued)
	}
	if lim.MaxInflight > 0 {
		conf += fmt.Sprintf("max_inflight_messages %d\n", lim.MaxInflight)
	}
	return conf
}

// logLines returns the broker's log (errors and warnings only, less the
// warning about running as root): how many lines and the first few.
func (b *broker) logLines() (int, []string) {
	out, err := os.ReadFile(b.LogFile())
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
