package cameras

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"kioskd/cloudlink/contract"
	"kioskd/firmware/config"
	"kioskd/kiosk"
	"kioskd/kiosk/journal"
)

// camRig is a journal, a running controller and a running camera set
// whose children are fake cameras (camera_fakechild_test.go).
type camRig struct {
	t    *testing.T
	cfg  *config.Config
	j    *journal.Journal
	ctrl *kiosk.Controller
	cs   *Set
	// free, when not -1, is the free space the clip store sees: a test
	// cannot fill the disk.
	free *atomic.Int64
}

// newCamRig starts cameras named by modes (camera id → fake mode). Clips
// run 1 s past the press, 3 s at most; edit may change the config.
func newCamRig(t *testing.T, modes map[string]string, edit ...func(*config.Config)) *camRig {
	t.Helper()
	return buildCamRig(t, true, modes, edit...)
}

// newIdleCamRig is newCamRig with the Set built but not running: a test
// that calls one of its steps itself (recoverClips) would otherwise race
// the same step run by Run at its start.
func newIdleCamRig(t *testing.T, modes map[string]string, edit ...func(*config.Config)) *camRig {
	t.Helper()
	return buildCamRig(t, false, modes, edit...)
}

func buildCamRig(t *testing.T, run bool, modes map[string]string, edit ...func(*config.Config)) *camRig {
	t.Helper()
	cfg := config.Sim(t.TempDir())
	ids := slices.Sorted(func(yield func(string) bool) {
		for id := range modes {
			if !yield(id) {
				return
			}
		}
	})
	for _, id := range ids {
		c := config.SimCamera(id, "rtsp://127.0.0.1:1/"+id)
		c.PostRoll, c.PostRollCap = config.Duration{Duration: time.Second}, config.Duration{Duration: 3 * time.Second}
		cfg.Cameras = append(cfg.Cameras, c)
	}
	cfg.Clips.LowDisk.Bytes = 16 << 20
	off := "" // no live relay: these tests do not watch, and parallel rigs would share its port
	cfg.Relay.Listen = &off
	for _, f := range edit {
		f(cfg)
	}
	j, err := journal.Open(filepath.Join(cfg.Kiosk.StateDir, "journal.db"), journal.Options{KioskID: cfg.Kiosk.ID})
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	clock := kiosk.NewClock(time.Now, j.ClockFloor(), func() bool { return true })
	ctrl := kiosk.New(kiosk.Rules{CallbackWithin: 5 * time.Minute, CloseWithin: 24 * time.Hour}, "test", j, clock, kiosk.NewState(), log)
	free := &atomic.Int64{}
	free.Store(-1)
	cs, err := New(Config{
		Cameras: cfg.Cameras, Clips: cfg.Clips, Relay: cfg.Relay, StateDir: cfg.Kiosk.StateDir,
		Journal: j, Controller: ctrl, Log: log,
		Child: func(c config.Camera) ChildCommand { return fakeCameraCommand(modes[c.ID])(c) },
		DiskFree: func(dir string) int64 {
			if f := free.Load(); f != -1 {
				return f
			}
			return diskFree(dir)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs.cams {
		c.proc.hung = 2 * time.Second
	}
	cs.uploads.backoff = 20 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	var running sync.WaitGroup
	running.Go(func() { ctrl.Run(ctx) })
	if run {
		running.Go(func() { cs.Run(ctx) })
	}
	t.Cleanup(func() {
		cancel()
		running.Wait()
		j.Close()
	})
	return &camRig{t: t, cfg: cfg, j: j, ctrl: ctrl, cs: cs, free: free}
}

func (r *camRig) submit(in kiosk.Input) string {
	r.t.Helper()
	id, err := r.ctrl.Submit(context.Background(), in)
	if err != nil {
		r.t.Fatalf("Submit(%T): %v", in, err)
	}
	return id
}

func (r *camRig) press() string {
	r.t.Helper()
	return r.submit(kiosk.Press{Request: kiosk.Police, Source: "button:police"})
}

// events returns the journaled events of these types, in seq order.
func (r *camRig) events(types ...string) []journal.Event {
	r.t.Helper()
	all, err := r.j.Events(0, 100000)
	if err != nil {
		r.t.Fatal(err)
	}
	var out []journal.Event
	for _, ev := range all {
		if slices.Contains(types, ev.Type) {
			out = append(out, ev)
		}
	}
	return out
}

// waitFor polls cond every 20 ms for at most d.
func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(d); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("not %s within %s", what, d)
}

func clipOf(t *testing.T, ev journal.Event) kiosk.Clip {
	t.Helper()
	var data struct{ Clip kiosk.Clip }
	if err := json.Unmarshal(ev.Data, &data); err != nil {
		t.Fatal(err)
	}
	return data.Clip
}

func (r *camRig) status(id string) (st struct {
	State, Problem string
	Restarts       int
}) {
	for _, s := range r.cs.Statuses() {
		if s.ID == id {
			st.State, st.Problem, st.Restarts = s.State, s.Problem, s.Restarts
		}
	}
	return st
}

func TestCameraHealthStates(t *testing.T) {
	r := newCamRig(t, map[string]string{"door": "online", "hall": "stall", "gate": "crash", "yard": "hang"})
	waitFor(t, "door online, hall no_video", 5*time.Second, func() bool {
		return r.status("door").State == "online" && r.status("hall").State == "no_video"
	})
	waitFor(t, "gate restarted after its crashes", 10*time.Second, func() bool { return r.status("gate").Restarts >= 2 })
	waitFor(t, "yard killed as hung and restarted", 10*time.Second, func() bool { return r.status("yard").Restarts >= 1 })
	if got := r.status("door"); got.State != "online" || got.Restarts != 0 {
		t.Errorf("door beside the crashing cameras: %+v, want online with no restart", got)
	}
	waitFor(t, "faults of gate, yard and hall raised", 10*time.Second, func() bool {
		f := r.ctrl.State().Faults
		_, gate := f["camera:gate"]
		_, yard := f["camera:yard"]
		_, hall := f["camera:hall"]
		return gate && yard && hall
	})
	if _, door := r.ctrl.State().Faults["camera:door"]; door {
		t.Error("camera:door fault raised for a camera that is online")
	}
	changes := map[string]bool{}
	for _, ev := range r.events(kiosk.EvCameraState) {
		var d struct{ Camera, State string }
		json.Unmarshal(ev.Data, &d)
		changes[d.Camera+" "+d.State] = true
	}
	for _, want := range []string{"door online", "hall no_video", "gate offline"} {
		if !changes[want] {
			t.Errorf("no camera.state event %q; got %v", want, changes)
		}
	}
	if last := r.cs.camera("gate").proc.Status().LastExit; !strings.Contains(last, "exit status 2") {
		t.Errorf("gate's last exit = %q, want exit status 2", last)
	}
	if last := r.cs.camera("yard").proc.Status().LastExit; !strings.Contains(last, "hung") {
		t.Errorf("yard's last exit = %q, want hung", last)
	}
}

// TestCrashLoopLeavesAlarmsAndOtherCameras: a press during another camera's
// crash loop is journaled at once, and the healthy camera still records.
func TestCrashLoopLeavesAlarmsAndOtherCameras(t *testing.T) {
	r := newCamRig(t, map[string]string{"door": "online", "gate": "crash"})
	waitFor(t, "gate crashing, door online", 5*time.Second, func() bool {
		return r.status("gate").Restarts >= 1 && r.status("door").State == "online"
	})
	start := time.Now()
	inc := r.press()
	if took := time.Since(start); took > time.Second {
		t.Errorf("press journaled in %s during a crash loop", took)
	}
	waitFor(t, "a clip from door and a failure from gate or a clip", 10*time.Second, func() bool {
		return len(r.events(kiosk.EvClipReady)) >= 1 && len(r.events(kiosk.EvClipReady, kiosk.EvClipFailed)) >= 2
	})
	for _, ev := range r.events(kiosk.EvClipReady, kiosk.EvClipFailed) {
		c := clipOf(t, ev)
		if ev.Incident != inc {
			t.Errorf("%s names incident %q, want %q", ev.Type, ev.Incident, inc)
		}
		if c.Camera == "door" && ev.Type != kiosk.EvClipReady {
			t.Errorf("door's clip: %s (%s), want ready", ev.Type, c.Error)
		}
	}
}

// TestClipMatchesContract: clip events carry a kiosk.Clip under data.clip;
// its JSON must be the documented contract.Clip.
func TestClipMatchesContract(t *testing.T) {
	jsonNames := func(typ reflect.Type) []string {
		var names []string
		for i := range typ.NumField() {
			names = append(names, typ.Field(i).Tag.Get("json"))
		}
		slices.Sort(names)
		return names
	}
	got, want := jsonNames(reflect.TypeFor[kiosk.Clip]()), jsonNames(reflect.TypeFor[contract.Clip]())
	if !slices.Equal(got, want) {
		t.Errorf("kiosk.Clip JSON = %v\ncontract.Clip JSON = %v", got, want)
	}
}
