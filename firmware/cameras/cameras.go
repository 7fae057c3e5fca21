package cameras

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"kioskd/devices"
	"kioskd/firmware/config"
	"kioskd/kiosk"
	"kioskd/kiosk/journal"
)

// One goroutine, the set's Run loop, owns the clips in progress and the
// health views; the rest reads snapshots under mu.

const (
	// healthStale: without health from a running child for this long, the
	// camera is reported offline (it is killed as hung at hungAfter).
	healthStale = 3 * time.Second
	// faultAfter: a camera not online this long raises its fault (a crash
	// raises it at once); faultClearAfter: online this long clears it.
	faultAfter      = 5 * time.Second
	faultClearAfter = 30 * time.Second
	cameraTick      = time.Second
)

// camera is one configured camera and its supervisor.
type camera struct {
	cfg  config.Camera
	proc *cameraProc
}

// covers reports whether the camera films calls of this request and source.
func (c *camera) covers(req kiosk.Request, source string) bool {
	if len(c.cfg.Covers) == 0 {
		return true
	}
	for _, cv := range c.cfg.Covers {
		if cv == string(req) || source == "button:"+cv || source == cv {
			return true
		}
	}
	return false
}

// cameraView is what the camera set knows of one camera's health.
type cameraView struct {
	health   devices.CameraHealth
	healthAt time.Time // monotonic; zero before the first health
	state    string    // the effective state, as reported to everyone
	problem  string
	since    time.Time // wall time state last changed
	changed  time.Time // monotonic time state last changed
	fault    bool      // the camera's fault is raised
	crashed  bool      // the child ended since the fault was last cleared
}

// press is a new incident some cameras should film.
type press struct {
	incident string
	request  kiosk.Request
	source   string
	at       time.Time // monotonic, when the registration was committed
	wall     time.Time // the event's wall time
}

// Config is everything a Set needs, made before it.
type Config struct {
	Cameras  []config.Camera
	Clips    config.Clips
	Relay    config.Relay
	StateDir string // the token secret and the children's live sockets
	Journal  *journal.Journal
	// Controller journals the cameras' news; the Set listens to its commits.
	Controller *kiosk.Controller
	// Notify tells the cloud link the camera report changed.
	Notify func()
	Log    *slog.Logger
	// Child builds a camera's child process; nil runs this binary's
	// `kioskd camera` (tests run a stand-in).
	Child func(config.Camera) ChildCommand
	// DiskFree is the free space under a directory (-1 unknown); nil asks
	// the filesystem (tests give a figure: they cannot fill the disk).
	DiskFree func(dir string) int64
}

// Set runs every camera of the post.
type Set struct {
	cams    []*camera
	clips   config.Clips
	journal *journal.Journal
	ctrl    *kiosk.Controller
	tokens  *tokens
	relay   string // host:port of live-view references
	fetch   string // scheme://host:port of clip fetch URLs; "" without a clip server (clip_fetch.go)
	notify  func() // tells the cloud link the camera report changed
	log     *slog.Logger

	news     chan procNews
	presses  chan press
	done     chan struct{} // closed when Run stops reading news
	active   map[string]*activeClip
	uploads  *uploader
	fetched  *fetchTracker // what the clip server sent of each clip (clip_fetched.go)
	diskFree func(dir string) int64
	live     *liveRelay // the live relay's RTSP listener (relay.go)

	mu    sync.Mutex
	views map[string]*cameraView
	lowOn bool // the low-disk fault is raised
}

// New builds the set and hooks it to the controller's commits (so call it
// before the controller runs); Run runs it. It reads (or makes) the token
// secret in the state directory. With
// no camera configured it still serves the clip routes and the upload
// command, for clips of earlier runs.
func New(cfg Config) (*Set, error) {
	tok, err := openTokens(cfg.StateDir, cfg.Clips.TokenTTL.Duration)
	if err != nil {
		return nil, err
	}
	cs := &Set{
		clips: cfg.Clips, journal: cfg.Journal, ctrl: cfg.Controller, tokens: tok,
		relay: advertised(cfg.Relay.Address), fetch: fetchBase(cfg.Clips, advertised(cfg.Clips.FetchAddress)),
		notify: cfg.Notify, log: cfg.Log.With("part", "cameras"),
		news: make(chan procNews, 256), presses: make(chan press, 64), done: make(chan struct{}),
		active: map[string]*activeClip{}, views: map[string]*cameraView{},
		fetched: newFetchTracker(), diskFree: cfg.DiskFree,
	}
	if cs.notify == nil {
		cs.notify = func() {}
	}
	if cs.diskFree == nil {
		cs.diskFree = diskFree
	}
	child := cfg.Child
	if child == nil {
		child = func(c config.Camera) ChildCommand { return selfCommand(c, liveSocket(cfg.StateDir, c.ID)) }
	}
	for _, c := range cfg.Cameras {
		proc := newCameraProc(c.ID, child(c), cs.news, cs.done, cs.log)
		cs.cams = append(cs.cams, &camera{cfg: c, proc: proc})
		cs.views[c.ID] = &cameraView{state: string(devices.CameraOffline), problem: "starting", since: time.Now().UTC(), changed: time.Now()}
	}
	cs.uploads = newUploader(cs)
	cs.live = newLiveRelay(cs, cfg.StateDir, cfg.Relay.RelayListen(), cfg.Log)
	cfg.Controller.OnCommit(cs.onCommit)
	return cs, nil
}

// selfCommand runs `kioskd camera -camera ID -settings JSON -live SOCKET`
// from this very binary: the parent's checked settings, not a file read
// again, and the unix socket of its live relay.
func selfCommand(c config.Camera, live string) ChildCommand {
	return func() *exec.Cmd {
		exe, err := os.Executable()
		if err != nil {
			exe = os.Args[0]
		}
		cmd := exec.Command(exe, "camera", "-camera", c.ID, "-settings", cameraSettings(c), "-live", live)
		cmd.SysProcAttr = childAttrs()
		return cmd
	}
}

// cameraSettings is the -settings argument of `kioskd camera`: the
// camera's checked config as JSON (no secret: credentials stay in their file).
func cameraSettings(c config.Camera) string {
	b, _ := json.Marshal(c) // a struct of strings and durations cannot fail
	return string(b)
}

// onCommit is the controller's listener: a new incident is a press the
// covering cameras must film. It never blocks.
func (cs *Set) onCommit(events []journal.Event, s kiosk.State) {
	for _, ev := range events {
		if ev.Type != kiosk.EvRegistered {
			continue
		}
		in, ok := s.Incidents[ev.Incident]
		if !ok || in.Test || len(cs.cams) == 0 {
			continue // a self-test call films nothing
		}
		select {
		case cs.presses <- press{incident: in.ID, request: in.Request, source: in.Source, at: time.Now(), wall: ev.Time}:
		default:
			cs.log.Error("clip orders dropped: the camera set is behind", "incident", in.ID)
		}
	}
}

// Run runs everything the set owns until ctx is done: the camera
// children and their news, clip orders, retention, uploads, the clip
// server and the live relay. Then it waits for the children to end (they
// get stopGrace to finish their clips; a report that comes after Run
// stopped reading is settled at the next start by recoverClips). It
// always returns nil: nothing here may stop the alarm path.
func (cs *Set) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	for _, c := range cs.cams {
		wg.Go(func() { c.proc.Run(ctx) })
	}
	wg.Go(func() { cs.uploads.Run(ctx) })
	wg.Go(func() { cs.runClipServer(ctx) })
	wg.Go(func() { cs.runRelay(ctx) })
	cs.loop(ctx)
	close(cs.done)
	wg.Wait()
	return nil
}

func (cs *Set) loop(ctx context.Context) {
	cs.recoverClips(ctx)
	cs.keepStore(ctx)
	tick := time.NewTicker(cameraTick)
	defer tick.Stop()
	store := time.NewTicker(time.Minute)
	defer store.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case n := <-cs.news:
			cs.handleNews(ctx, n)
		case p := <-cs.presses:
			cs.orderClips(ctx, p)
		case <-tick.C:
			cs.checkViews(ctx)
			cs.extendClips()
			cs.expireClips(ctx)
		case <-store.C:
			cs.keepStore(ctx)
		}
	}
}

func (cs *Set) camera(id string) *camera {
	for _, c := range cs.cams {
		if c.cfg.ID == id {
			return c
		}
	}
	return nil
}

func (cs *Set) handleNews(ctx context.Context, n procNews) {
	switch {
	case n.msg.Health != nil:
		cs.mu.Lock()
		v := cs.views[n.camera]
		v.health, v.healthAt = *n.msg.Health, time.Now()
		cs.mu.Unlock()
		cs.checkViews(ctx)
	case n.msg.Clip != nil:
		cs.clipReport(ctx, n.camera, *n.msg.Clip)
	default:
		cs.mu.Lock()
		v := cs.views[n.camera]
		v.crashed, v.healthAt = true, time.Time{} // the next child must speak for itself
		cs.mu.Unlock()
		cs.settleCameraClips(ctx, n.camera, "camera process ended: "+errText(n.exited))
		cs.checkViews(ctx)
	}
}

func errText(err error) string {
	if err == nil {
		return "exited"
	}
	return err.Error()
}

// checkViews recomputes every camera's effective state and journals what
// changed: camera.state events, and the camera's fault.
func (cs *Set) checkViews(ctx context.Context) {
	var inputs []kiosk.Input
	changed := false
	cs.mu.Lock()
	for _, c := range cs.cams {
		v := cs.views[c.cfg.ID]
		state, problem := effectiveState(v, c.proc.Status())
		if state != v.state || problem != v.problem {
			changed = changed || state != v.state
			if state != v.state {
				v.since, v.changed = time.Now().UTC(), time.Now()
				inputs = append(inputs, kiosk.CameraChanged{Camera: c.cfg.ID, State: state, Problem: problem})
			}
			v.state, v.problem = state, problem
		}
		if in := faultChange(c.cfg.ID, v); in != nil {
			inputs = append(inputs, in)
		}
	}
	cs.mu.Unlock()
	for _, in := range inputs {
		cs.submit(ctx, in)
	}
	if changed {
		cs.notify()
	}
}

// effectiveState is the camera's state as the child reports it, unless
// the child is not running or has gone quiet: then it is offline.
func effectiveState(v *cameraView, ps procStatus) (string, string) {
	switch {
	case !ps.Running && ps.LastExit != "":
		return string(devices.CameraOffline), "camera process ended: " + ps.LastExit
	case !ps.Running || v.healthAt.IsZero():
		return string(devices.CameraOffline), "camera process starting"
	case time.Since(v.healthAt) > healthStale:
		return string(devices.CameraOffline), "no health from camera process for over " + healthStale.String()
	}
	return string(v.health.State), v.health.Problem
}

// faultChange returns the fault input the view calls for, or nil, and
// notes it as done. Call with cs.mu held.
func faultChange(id string, v *cameraView) kiosk.Input {
	key := "camera:" + id
	bad := v.state != string(devices.CameraOnline)
	switch {
	case !v.fault && (v.crashed || bad && time.Since(v.changed) >= faultAfter):
		v.fault = true
		detail := "camera " + id + ": " + v.state
		if v.problem != "" {
			detail += ": " + v.problem
		}
		return kiosk.RaiseFault{Key: key, Detail: detail}
	case v.fault && !bad && time.Since(v.changed) >= faultClearAfter:
		v.fault, v.crashed = false, false
		return kiosk.ClearFault{Key: key}
	}
	return nil
}

// submit journals one input through the controller. Telemetry refused for
// space is not an error worth more than a debug line.
func (cs *Set) submit(ctx context.Context, in kiosk.Input) {
	err := cs.journalInput(ctx, in)
	switch {
	case err == nil, ctx.Err() != nil:
	case strings.Contains(err.Error(), journal.ErrTelemetryRefused.Error()):
		cs.log.Debug("camera telemetry refused for space", "input", in)
	default:
		cs.log.Error("camera news not journaled", "err", err)
	}
}

// journalInput journals one input through the controller.
func (cs *Set) journalInput(ctx context.Context, in kiosk.Input) error {
	sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_, err := cs.ctrl.Submit(sctx, in)
	return err
}
