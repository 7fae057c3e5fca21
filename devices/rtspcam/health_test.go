package rtspcam_test

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"kioskd/devices"
	"kioskd/devices/rtspcam"
	"kioskd/hack/fakecam/camsim"
)

// TestStallIsNoVideo: connected without frames is no_video within 5 s,
// and online again when frames return.
func TestStallIsNoVideo(t *testing.T) {
	cam := startCam(t, camsim.Options{Source: loopSource(t)})
	c := serve(t, cam.URL(), func(cfg *rtspcam.Config) { cfg.ReadTimeout = 20 * time.Second })
	c.ready(0)
	cam.SetMode(camsim.Stall)
	stalled := time.Now()
	h := c.waitHealth("no_video", 5*time.Second, func(h devices.CameraHealth) bool { return h.State == devices.CameraNoVideo })
	t.Logf("no_video after %v: %+v", time.Since(stalled), h)
	if !h.Connected || h.FPS != 0 || !strings.Contains(h.Problem, "no video") {
		t.Errorf("health %+v: want connected, fps 0, a no-video problem", h)
	}
	cam.SetMode(camsim.Normal)
	c.waitHealth("online", 5*time.Second, online)
}

// TestFirstDialFails: nothing listens at first; the camera appears later
// and is connected without any help.
func TestFirstDialFails(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	c := serve(t, "rtsp://"+addr+"/stream", nil)
	h := c.waitHealth("offline with a dial error", 5*time.Second, func(h devices.CameraHealth) bool {
		return h.State == devices.CameraOffline && strings.Contains(h.Problem, "dial")
	})
	t.Logf("before the camera: %+v", h)
	time.Sleep(1500 * time.Millisecond)
	startCam(t, camsim.Options{Addr: addr, Source: loopSource(t)})
	h = c.waitHealth("online with a measured rate", 10*time.Second, func(h devices.CameraHealth) bool { return online(h) && h.FPS > 0 })
	if h.FPS < 20 || h.FPS > 30 {
		t.Errorf("fps %.1f, want about 25", h.FPS)
	}
}

// TestCredentials: the camera wants Digest credentials; they come from the
// credentials file and never appear in the logs or the messages. Wrong
// ones and a missing file are configuration faults.
func TestCredentials(t *testing.T) {
	const pass = "s3cret-pass"
	cam := startCam(t, camsim.Options{Source: loopSource(t), User: "admin", Pass: pass})
	dir := t.TempDir()
	write := func(name, text string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	good, bad := write("good", "admin:"+pass+"\n"), write("bad", "admin:wrong-pass\n")
	tests := []struct {
		name, file string
		want       devices.CameraState
		problem    string
	}{
		{"right", good, devices.CameraOnline, ""},
		{"wrong", bad, devices.CameraConfigFault, "401"},
		{"missing file", filepath.Join(dir, "none"), devices.CameraConfigFault, "credentials file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := serve(t, cam.URL(), func(cfg *rtspcam.Config) { cfg.CredentialsFile = tt.file })
			h := c.waitHealth(string(tt.want), 10*time.Second, func(h devices.CameraHealth) bool {
				return h.State == tt.want && strings.Contains(h.Problem, tt.problem)
			})
			t.Logf("health: %+v", h)
			if s := c.said(); strings.Contains(s, pass) || strings.Contains(s, "wrong-pass") {
				t.Errorf("a password was logged or sent:\n%s", s)
			}
		})
	}
}

// TestSlowCameraShowsItsRate: a camera delivering a quarter of its frames
// stays online and reports the rate it really delivers.
func TestSlowCameraShowsItsRate(t *testing.T) {
	cam := startCam(t, camsim.Options{Source: loopSource(t), SlowFactor: 0.25})
	c := serve(t, cam.URL(), nil)
	c.waitHealth("online at 25 fps", 10*time.Second, func(h devices.CameraHealth) bool { return online(h) && h.FPS > 20 })
	cam.SetMode(camsim.Slow)
	h := c.waitHealth("online at about 6 fps", 5*time.Second, func(h devices.CameraHealth) bool { return online(h) && h.FPS > 0 && h.FPS < 10 })
	if h.FPS < 5 || h.FPS > 7.5 {
		t.Errorf("fps %.1f, want about 6.25", h.FPS)
	}
}
