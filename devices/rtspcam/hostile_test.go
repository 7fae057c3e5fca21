package rtspcam_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"kioskd/devices/rtspcam"
	"kioskd/hack/fakecam/camsim"
)

const childEnv = "RTSPCAM_TEST_CHILD_URL"

// TestMain lets the test binary be a camera process: with childEnv set it
// runs Serve on stdin and stdout, as `kioskd camera` does.
func TestMain(m *testing.M) {
	if url := os.Getenv(childEnv); url != "" {
		cfg := rtspcam.Config{Camera: "child", URL: url, PreRoll: 2 * time.Second, MaxBackoff: time.Second}
		err := rtspcam.Serve(context.Background(), cfg, os.Stdin, os.Stdout, slog.New(slog.NewTextHandler(os.Stderr, nil)))
		if err != nil {
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// process is a camera child process of the test binary.
type process struct {
	*child
	cmd    *exec.Cmd
	stderr *bytes.Buffer
	exited chan struct{} // closed when the process has exited; then err is set
	err    error
}

func startProcess(t *testing.T, url string) *process {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+url)
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &process{cmd: cmd, stderr: &bytes.Buffer{}, exited: make(chan struct{})}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c, readDone := newChild(t, in, out)
	p.child = c
	go func() { <-readDone; p.err = cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		in.Close()
		select {
		case <-p.exited:
		case <-time.After(10 * time.Second):
			t.Errorf("camera process did not end when its stdin closed")
			cmd.Process.Kill()
			<-p.exited
		}
	})
	return p
}

// TestHostileCameraKillsOnlyItsProcess: a packet that panics vdk's
// demuxer ends the camera's process; another camera's process records on.
func TestHostileCameraKillsOnlyItsProcess(t *testing.T) {
	t.Parallel()
	camsim.RequireFFmpeg(t)
	src := loopSource(t)
	bad := startCam(t, camsim.Options{Source: src})
	good := startCam(t, camsim.Options{Source: src})
	pb, pg := startProcess(t, bad.URL()), startProcess(t, good.URL())
	pb.waitHealth("online", 10*time.Second, online)
	pg.ready(time.Second)

	o := clipOrder(t, "during-crash", time.Second, 4*time.Second)
	pg.order(o)
	bad.SetMode(camsim.Hostile)
	select {
	case <-pb.exited:
		var exit *exec.ExitError
		if !errors.As(pb.err, &exit) || exit.ExitCode() == 0 {
			t.Errorf("hostile camera's process ended with %v, want a crash", pb.err)
		}
		if s := pb.stderr.String(); !strings.Contains(s, "panic") || !strings.Contains(s, "rtspv2") {
			t.Errorf("stderr does not show vdk's panic:\n%s", s)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the hostile camera did not crash its process")
	}
	r := pg.waitClip("during-crash", 15*time.Second)
	probe(t, r, o.Path)
	h := pg.waitHealth("still online", 3*time.Second, online)
	if h.Reconnects != 0 {
		t.Errorf("the good camera reconnected %d times", h.Reconnects)
	}
}
