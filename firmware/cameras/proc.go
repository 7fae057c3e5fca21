package cameras

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"sync"
	"time"

	"kioskd/devices"
)

// Supervision of one camera's child process (ARCHITECTURE.md, "Decisions, and why"): the child
// may crash (vdk panics on malformed RTP), hang or exit; it is restarted
// with backoff for ever, and each end is reported to the camera set, which
// raises the camera's fault. Nothing here touches the alarm path.
const (
	// hungAfter: a child that sends no health for this long is killed.
	// It sends health every second.
	hungAfter = 10 * time.Second
	// stableRun: a child that ran this long starts the backoff afresh.
	stableRun         = time.Minute
	restartMin        = 500 * time.Millisecond
	restartMax        = 30 * time.Second
	stopGrace         = 3 * time.Second // to finish clips after stdin closes, before SIGKILL
	orderWriteTimeout = 2 * time.Second
	maxChildLine      = 64 << 10
)

// ChildCommand builds the command of one run of a camera's child.
type ChildCommand func() *exec.Cmd

// procNews is what a camera process tells the camera set: a message from
// the child, or (Exited set) that the child ended.
type procNews struct {
	camera string
	msg    devices.CameraMessage
	exited error // the child ended; nil when news is a message
}

// procStatus is the supervisor's side of a camera's health (never sent
// as is: see health.go).
type procStatus struct {
	Running    bool
	PID        int
	Restarts   int // children started after the first
	LastExit   string
	LastExitAt time.Time
}

// cameraProc supervises the child of one camera.
type cameraProc struct {
	id      string
	command ChildCommand
	news    chan<- procNews
	done    <-chan struct{} // closed when nobody reads news any more
	hung    time.Duration   // hungAfter; tests shorten it
	log     *slog.Logger

	mu     sync.Mutex
	stdin  *os.File // the running child's stdin, nil between runs
	status procStatus
}

func newCameraProc(id string, command ChildCommand, news chan<- procNews, done <-chan struct{}, log *slog.Logger) *cameraProc {
	return &cameraProc{id: id, command: command, news: news, done: done, hung: hungAfter, log: log.With("camera", id)}
}

// Status returns the supervisor's view of the child.
func (p *cameraProc) Status() procStatus {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.status
}

// Send writes one order to the running child. It fails when no child runs
// or the child does not read its orders.
func (p *cameraProc) Send(o devices.ClipOrder) error {
	line, err := json.Marshal(o)
	if err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stdin == nil {
		return errors.New("camera process not running")
	}
	p.stdin.SetWriteDeadline(time.Now().Add(orderWriteTimeout))
	if _, err := p.stdin.Write(append(line, '\n')); err != nil {
		return fmt.Errorf("order to camera process: %w", err)
	}
	return nil
}

// Run keeps a child running until ctx is done, restarting it with
// jittered backoff (capped at restartMax, reset after a stable run).
func (p *cameraProc) Run(ctx context.Context) {
	for attempt := 0; ; attempt++ {
		start := time.Now()
		err := p.runOnce(ctx)
		if ctx.Err() != nil {
			return
		}
		if time.Since(start) >= stableRun {
			attempt = 0
		}
		wait := restartDelay(attempt)
		p.log.Warn("camera process ended; restarting", "err", err, "retry_in", wait.Round(time.Millisecond))
		p.report(procNews{camera: p.id, exited: err})
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// restartDelay is half of min(restartMax, restartMin·2ⁿ) plus a random
// part up to the other half: children of several cameras never restart
// in lock-step, and never faster than restartMin/2.
func restartDelay(n int) time.Duration {
	ceil := restartMin
	for i := 0; i < n && ceil < restartMax; i++ {
		ceil *= 2
	}
	ceil = min(ceil, restartMax)
	return ceil/2 + rand.N(ceil/2+1)
}

func (p *cameraProc) report(n procNews) {
	select {
	case p.news <- n:
	case <-p.done:
	}
}

// runOnce starts one child and returns when it has ended.
func (p *cameraProc) runOnce(ctx context.Context) error {
	cmd := p.command()
	stdinR, stdinW, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("stdin pipe: %w", err)
	}
	cmd.Stdin = stdinR
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		stdinR.Close()
		stdinW.Close()
		return fmt.Errorf("stdout pipe: %w", err)
	}
	stderr, err := cmd.StderrPipe()
	if err == nil {
		err = cmd.Start()
	}
	stdinR.Close()
	if err != nil {
		stdinW.Close()
		return fmt.Errorf("start camera process: %w", err)
	}
	p.started(cmd.Process.Pid, stdinW)
	var logged sync.WaitGroup
	logged.Add(1)
	go func() { defer logged.Done(); p.logStderr(stderr) }()
	runErr := p.watch(ctx, cmd, stdout, stdinW)
	logged.Wait()
	waitErr := cmd.Wait()
	err = errors.Join(runErr, waitErr)
	if err == nil {
		err = errors.New("camera process exited")
	}
	p.ended(err)
	return err
}

func (p *cameraProc) started(pid int, stdin *os.File) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.status.PID != 0 || p.status.LastExit != "" {
		p.status.Restarts++
	}
	p.status.Running, p.status.PID, p.stdin = true, pid, stdin
}

func (p *cameraProc) ended(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stdin != nil {
		p.stdin.Close()
	}
	p.stdin = nil
	p.status.Running = false
	p.status.LastExit, p.status.LastExitAt = err.Error(), time.Now().UTC()
}

// watch reads the child's messages until its stdout closes, killing it
// when it hangs or ctx ends (stdin closed first, so it may finish its
// clips, then SIGKILL after stopGrace).
func (p *cameraProc) watch(ctx context.Context, cmd *exec.Cmd, stdout io.Reader, stdin *os.File) error {
	lines := make(chan []byte)
	readDone := make(chan struct{})
	go func() { defer close(readDone); readLines(stdout, lines) }()
	hung := time.NewTimer(p.hung)
	defer hung.Stop()
	var why error
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				return why
			}
			if p.handleLine(line) {
				hung.Reset(p.hung)
			}
		case <-hung.C:
			why = fmt.Errorf("no health from camera process for %s: hung, killed", p.hung)
			cmd.Process.Kill()
		case <-ctx.Done():
			p.mu.Lock()
			stdin.Close()
			p.stdin = nil
			p.mu.Unlock()
			go killAfter(cmd, stopGrace, readDone)
			ctx = context.Background() // keep reading the last reports
		}
	}
}

func killAfter(cmd *exec.Cmd, grace time.Duration, done <-chan struct{}) {
	select {
	case <-done:
	case <-time.After(grace):
		cmd.Process.Kill()
	}
}

// readLines sends each line of r until r ends, then closes lines.
func readLines(r io.Reader, lines chan<- []byte) {
	defer close(lines)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), maxChildLine)
	for sc.Scan() {
		lines <- append([]byte(nil), sc.Bytes()...)
	}
	// A line past maxChildLine ends the scan; the child is then killed by
	// the pipe closing under it or by the hung timer. Drain so it never
	// blocks on a full pipe.
	io.Copy(io.Discard, r)
}

// handleLine passes one message on; it reports whether it was health.
func (p *cameraProc) handleLine(line []byte) bool {
	msg, err := devices.ParseCameraMessage(line)
	if err != nil {
		p.log.Warn("camera process sent a bad line", "err", err)
		return false
	}
	p.report(procNews{camera: p.id, msg: msg})
	return msg.Health != nil
}

// logStderr copies the child's stderr lines to the log.
func (p *cameraProc) logStderr(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), maxChildLine)
	for sc.Scan() {
		p.log.Info("camera process: " + sc.Text())
	}
	io.Copy(io.Discard, r)
}
