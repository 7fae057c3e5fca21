package cameras

import (
	"bufio"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"time"

	"kioskd/devices"
	"kioskd/firmware/config"
	"kioskd/firmware/update"
)

// A stand-in camera child for the supervisor's tests: this test binary run
// again with KIOSKD_FAKE_CAMERA set to a mode. It speaks the child protocol
// of devices/camera.go on stdin and stdout, without RTSP (the whole-system
// tests use the real child against fakecam):
//
//	online  health "online" every 100 ms; clips are written (random bytes) at their end
//	stall   health "no_video" every 100 ms
//	crash   one health, a line on stderr, then exit 2 after 200 ms
//	hang    one health, then nothing, ever
const fakeCameraEnv = "KIOSKD_FAKE_CAMERA"

func init() {
	if mode := os.Getenv(fakeCameraEnv); mode != "" {
		runFakeCamera(mode)
		os.Exit(0)
	}
}

// fakeCameraCommand runs this test binary as a fake child in mode.
func fakeCameraCommand(mode string) func(config.Camera) ChildCommand {
	return func(c config.Camera) ChildCommand {
		return func() *exec.Cmd {
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), fakeCameraEnv+"="+mode, "FAKE_CAMERA_ID="+c.ID)
			cmd.SysProcAttr = childAttrs()
			return cmd
		}
	}
}

type fakeChild struct {
	mu    sync.Mutex
	enc   *json.Encoder
	clips map[string]*fakeClip
}

type fakeClip struct {
	order      devices.ClipOrder
	press, end time.Time
	limit      time.Time
}

func runFakeCamera(mode string) {
	f := &fakeChild{enc: json.NewEncoder(os.Stdout), clips: map[string]*fakeClip{}}
	state := devices.CameraOnline
	switch mode {
	case "stall":
		state = devices.CameraNoVideo
	case "crash":
		f.health(state)
		fmt.Fprintln(os.Stderr, "fake camera: boom")
		time.Sleep(200 * time.Millisecond)
		os.Exit(2)
	case "hang":
		f.health(state)
		select {}
	}
	go func() {
		for {
			f.health(state)
			f.finishDue(false)
			time.Sleep(100 * time.Millisecond)
		}
	}()
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		var o devices.ClipOrder
		if json.Unmarshal(sc.Bytes(), &o) == nil {
			f.order(o)
		}
	}
	f.finishDue(true)
}

func (f *fakeChild) send(v any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.enc.Encode(v)
}

func (f *fakeChild) health(state devices.CameraState) {
	f.send(devices.CameraHealth{Type: devices.MessageHealth, Camera: os.Getenv("FAKE_CAMERA_ID"), State: state,
		Connected: true, LastFrame: time.Now(), FPS: 25, Codec: "h264", Width: 640, Height: 360})
}

func (f *fakeChild) order(o devices.ClipOrder) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch o.Op {
	case devices.OpClip:
		pre, post, capDur := o.Window()
		press := time.Now().Add(-time.Duration(o.AgeMs) * time.Millisecond)
		f.clips[o.ID] = &fakeClip{order: o, press: press, end: press.Add(post), limit: press.Add(capDur)}
		f.enc.Encode(devices.ClipReport{Type: devices.MessageClip, ID: o.ID, State: devices.ClipRecording,
			Start: press.Add(-pre), KeyframeBeforePressMs: pre.Milliseconds()})
	case devices.OpExtend:
		if c := f.clips[o.ID]; c != nil {
			c.end = c.end.Add(time.Duration(o.ByMs) * time.Millisecond)
			if c.end.After(c.limit) {
				c.end = c.limit
			}
		}
	case devices.OpFinish:
		if c := f.clips[o.ID]; c != nil {
			c.end = time.Now()
		}
	}
}

// finishDue writes and reports the clips past their end (all with all).
func (f *fakeChild) finishDue(all bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for id, c := range f.clips {
		if !all && time.Now().Before(c.end) {
			continue
		}
		delete(f.clips, id)
		pre, _, _ := c.order.Window()
		r := devices.ClipReport{Type: devices.MessageClip, ID: id, State: devices.ClipReady,
			Start: c.press.Add(-pre), End: c.end, DurationMs: (c.end.Sub(c.press) + pre).Milliseconds(),
			KeyframeBeforePressMs: pre.Milliseconds()}
		body := make([]byte, 4096+r.DurationMs)
		rand.Read(body)
		if err := os.WriteFile(c.order.Path, body, 0o640); err != nil {
			r.State, r.Error = devices.ClipFailed, err.Error()
		} else {
			r.SHA256, r.Bytes, _ = update.FileSHA256(c.order.Path)
		}
		f.enc.Encode(r)
	}
}
