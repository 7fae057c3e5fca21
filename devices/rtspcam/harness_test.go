package rtspcam_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"kioskd/devices"
	"kioskd/devices/rtspcam"
	"kioskd/hack/fakecam/camsim"
)

// child is Serve running in the test process, spoken to over pipes the
// way the parent does.
type child struct {
	t      *testing.T
	in     io.WriteCloser
	mu     sync.Mutex
	health []devices.CameraHealth
	clips  map[string]devices.ClipReport
	logs   []byte
	seen   chan struct{} // pulsed on every message
}

// serve starts Serve for url with a short pre-roll and returns its child.
func serve(t *testing.T, url string, tune func(*rtspcam.Config)) *child {
	t.Helper()
	cfg := rtspcam.Config{Camera: "cam", URL: url, PreRoll: 3 * time.Second, ReadTimeout: 4 * time.Second, MaxBackoff: time.Second}
	if tune != nil {
		tune(&cfg)
	}
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	c, readDone := newChild(t, inW, outR)
	done := make(chan error, 1)
	ctx, cancel := context.WithCancel(context.Background())
	log := slog.New(slog.NewTextHandler(testWriter{c}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	go func() { done <- rtspcam.Serve(ctx, cfg, inR, outW, log); outW.Close() }()
	t.Cleanup(func() {
		cancel()
		inW.Close()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("Serve did not return")
		}
		<-readDone
	})
	return c
}

// newChild reads a child's messages from out until it ends (readDone).
func newChild(t *testing.T, in io.WriteCloser, out io.Reader) (c *child, readDone chan struct{}) {
	c = &child{t: t, in: in, clips: map[string]devices.ClipReport{}, seen: make(chan struct{}, 1)}
	readDone = make(chan struct{})
	go func() { defer close(readDone); c.read(out) }()
	return c, readDone
}

// testWriter logs to the test and keeps what was logged.
type testWriter struct{ c *child }

func (w testWriter) Write(p []byte) (int, error) {
	w.c.t.Log(string(p))
	w.c.mu.Lock()
	defer w.c.mu.Unlock()
	w.c.logs = append(w.c.logs, p...)
	return len(p), nil
}

// said is everything the child logged and sent.
func (c *child) said() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	b, _ := json.Marshal(c.health)
	return string(c.logs) + string(b)
}

func (c *child) read(r io.Reader) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		m, err := devices.ParseCameraMessage(sc.Bytes())
		if err != nil {
			c.t.Errorf("bad message %q: %v", sc.Text(), err)
			continue
		}
		c.mu.Lock()
		if m.Health != nil {
			c.health = append(c.health, *m.Health)
		} else {
			c.clips[m.Clip.ID] = *m.Clip
		}
		c.mu.Unlock()
		select {
		case c.seen <- struct{}{}:
		default:
		}
	}
}

// order sends one order line.
func (c *child) order(o devices.ClipOrder) {
	c.t.Helper()
	b, _ := json.Marshal(o)
	if _, err := c.in.Write(append(b, '\n')); err != nil {
		c.t.Fatalf("order: %v", err)
	}
}

// waitHealth waits until a health report satisfies ok.
func (c *child) waitHealth(what string, timeout time.Duration, ok func(devices.CameraHealth) bool) devices.CameraHealth {
	c.t.Helper()
	deadline := time.After(timeout)
	for {
		c.mu.Lock()
		var last devices.CameraHealth
		if n := len(c.health); n > 0 {
			last = c.health[n-1]
		}
		c.mu.Unlock()
		if last.Type != "" && ok(last) {
			return last
		}
		select {
		case <-c.seen:
		case <-deadline:
			c.t.Fatalf("no health %s within %v; last: %+v", what, timeout, last)
		}
	}
}

// waitClip waits for a clip's final report (ready or failed).
func (c *child) waitClip(id string, timeout time.Duration) devices.ClipReport {
	c.t.Helper()
	deadline := time.After(timeout)
	for {
		c.mu.Lock()
		r, ok := c.clips[id]
		c.mu.Unlock()
		if ok && r.State != devices.ClipRecording {
			return r
		}
		select {
		case <-c.seen:
		case <-deadline:
			c.t.Fatalf("clip %s not final within %v; last: %+v", id, timeout, r)
		}
	}
}

func online(h devices.CameraHealth) bool { return h.State == devices.CameraOnline }

// ready waits until the camera is online with at least d of pre-roll.
func (c *child) ready(d time.Duration) devices.CameraHealth {
	c.t.Helper()
	return c.waitHealth("online with pre-roll", d+15*time.Second, func(h devices.CameraHealth) bool {
		return online(h) && h.PrerollMs >= d.Milliseconds()
	})
}

// loopSource is the committed clip fakecam loops: 640x360, 25 fps, 2 s GOP.
func loopSource(t *testing.T) *camsim.Source {
	t.Helper()
	src, err := camsim.LoadAnnexB(filepath.Join("..", "..", "hack", "fakecam", "testdata", "loop.h264"), 25)
	if err != nil {
		t.Fatal(err)
	}
	return src
}

// startCam starts a fake camera closed at the end of the test.
func startCam(t *testing.T, o camsim.Options) *camsim.Camera {
	t.Helper()
	cam, err := camsim.Start(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cam.Close)
	return cam
}

// clipOrder is an order for a clip in the test's temp dir.
func clipOrder(t *testing.T, id string, pre, post time.Duration) devices.ClipOrder {
	return devices.ClipOrder{Op: devices.OpClip, ID: id, Incident: "inc-1", PreRollMs: pre.Milliseconds(),
		PostRollMs: post.Milliseconds(), CapMs: (30 * time.Second).Milliseconds(),
		Path: filepath.Join(t.TempDir(), id+".mp4")}
}

// probe checks a ready clip with ffprobe and a full decode.
func probe(t *testing.T, r devices.ClipReport, path string) camsim.Probe {
	t.Helper()
	if r.State != devices.ClipReady {
		t.Fatalf("clip %s: state %s (%s), want ready", r.ID, r.State, r.Error)
	}
	p, err := camsim.ProbeFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Packets) == 0 || !p.Packets[0].Key {
		t.Fatalf("clip %s: first picture is not a keyframe: %+v", r.ID, p.Packets[:min(3, len(p.Packets))])
	}
	if st, err := os.Stat(path); err != nil || st.Size() != r.Bytes {
		t.Errorf("clip %s: file %v (%v), report says %d bytes", r.ID, st, err, r.Bytes)
	}
	return p
}
