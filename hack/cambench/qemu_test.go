package main

import (
	"bufio"
	"debug/elf"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"kioskd/devices"
	"kioskd/hack/fakecam/camsim"
)

// TestRecordsUnderQEMU: static linux/arm64 and linux/arm (GOARM=7)
// builds of the camera child, run under qemu-user-static, record a clip
// that ffprobe decodes.
func TestRecordsUnderQEMU(t *testing.T) {
	if testing.Short() {
		t.Skip("cross-builds and emulates: not with -short")
	}
	camsim.RequireFFmpeg(t)
	src, err := camsim.LoadAnnexB(filepath.Join("..", "fakecam", "testdata", "loop.h264"), 25)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ arch, arm, qemu string }{
		{"arm64", "", "qemu-aarch64-static"},
		{"arm", "7", "qemu-arm-static"},
	} {
		t.Run(tt.arch, func(t *testing.T) {
			t.Parallel() // each its own build, camera and emulator; most of the time is waiting on video
			qemu, err := exec.LookPath(tt.qemu)
			if err != nil {
				if os.Getenv("CI") != "" {
					t.Fatalf("%s not found; install the qemu-user-static apt package", tt.qemu)
				}
				t.Skipf("%s not found", tt.qemu)
			}
			bin := crossBuild(t, tt.arch, tt.arm)
			cam, err := camsim.Start(camsim.Options{Source: src, RandomOrigin: true})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(cam.Close)
			recordUnder(t, qemu, bin, cam.URL())
		})
	}
}

// crossBuild builds this command statically for linux/arch, with the flags
// of hack/test.sh's static builds (-trimpath), so the packages it shares
// with kioskd come from the build cache instead of being compiled again.
func crossBuild(t *testing.T, arch, arm string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "cambench-"+arch)
	cmd := exec.Command("go", "build", "-trimpath", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch, "GOARM="+arm)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", arch, err, out)
	}
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Fatalf("%s is dynamically linked", bin)
		}
	}
	return bin
}

// recordUnder runs the camera child under qemu, orders a clip once the
// pre-roll is there and checks the clip.
func recordUnder(t *testing.T, qemu, bin, url string) {
	t.Helper()
	in, lines := startEmulated(t, qemu, bin, url)
	path := filepath.Join(t.TempDir(), "qemu.mp4")
	ordered := false
	deadline := time.After(90 * time.Second)
	for {
		var m devices.CameraMessage
		select {
		case m = <-lines:
		case <-deadline:
			t.Fatal("no clip within 90 s")
		}
		if h := m.Health; h != nil && !ordered && h.State == devices.CameraOnline && h.PrerollMs >= 3000 {
			b, _ := json.Marshal(devices.ClipOrder{Op: devices.OpClip, ID: "q", PreRollMs: 1000, PostRollMs: 2000, Path: path})
			in.Write(append(b, '\n'))
			ordered = true
		}
		if c := m.Clip; c != nil && c.State != devices.ClipRecording {
			checkClip(t, c, path)
			return
		}
	}
}

// startEmulated starts the child under qemu; it is stopped when the test
// ends. The messages it writes come on the channel.
func startEmulated(t *testing.T, qemu, bin, url string) (io.Writer, <-chan devices.CameraMessage) {
	t.Helper()
	cmd := exec.Command(qemu, bin, "-child", url, "-preroll", "2s")
	in, _ := cmd.StdinPipe()
	out, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan devices.CameraMessage, 1000) // a few minutes of health
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			m, err := devices.ParseCameraMessage(sc.Bytes())
			if err != nil {
				t.Errorf("child wrote %q: %v", sc.Text(), err)
				continue
			}
			select {
			case lines <- m:
			default:
			}
		}
	}()
	t.Cleanup(func() {
		in.Close()
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	return in, lines
}

func checkClip(t *testing.T, c *devices.ClipReport, path string) {
	t.Helper()
	if c.State != devices.ClipReady {
		t.Fatalf("clip %+v", c)
	}
	p, err := camsim.ProbeFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !p.Packets[0].Key || p.Duration() < 2.9 {
		t.Errorf("clip: first key %v, %.2f s; want a keyframe first, ≥ 3 s", p.Packets[0].Key, p.Duration())
	}
	t.Logf("clip %.2f s, %d pictures, %d bytes, sha256 %s", p.Duration(), len(p.Packets), c.Bytes, c.SHA256)
}
