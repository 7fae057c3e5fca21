package firmware_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"kioskd/cloudlink/contract"
	"kioskd/firmware/cameras"
	"kioskd/firmware/config"
	"kioskd/hack/brokertest"
	"kioskd/hack/fakecam/camsim"
)

// The cameras end to end: the real kioskd binary, its real camera children
// (devices/rtspcam), fake cameras (hack/fakecam) over 127.0.0.1, a real
// mosquitto, ffprobe on the clips.

// startFakeCams starts one looping H.264 camera per id.
func startFakeCams(t *testing.T, ids ...string) map[string]*camsim.Camera {
	t.Helper()
	src, err := camsim.LoadAnnexB(filepath.Join("..", "hack", "fakecam", "testdata", "loop.h264"), 25)
	if err != nil {
		t.Fatal(err)
	}
	cams := map[string]*camsim.Camera{}
	for _, id := range ids {
		c, err := camsim.Start(camsim.Options{Source: src, RandomOrigin: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.Close)
		cams[id] = c
	}
	return cams
}

// withCameras adds the fake cameras to a config: 2 s pre-roll, 2 s
// post-roll, 3 s cap.
func withCameras(cams map[string]*camsim.Camera) func(*config.Config) {
	return func(c *config.Config) {
		for _, id := range []string{"door", "gate", "hall"} {
			if cam, ok := cams[id]; ok {
				cc := config.SimCamera(id, cam.URL())
				cc.PreRoll = config.Duration{Duration: 2 * time.Second}
				cc.PostRoll = config.Duration{Duration: 2 * time.Second}
				cc.PostRollCap = config.Duration{Duration: 3 * time.Second}
				c.Cameras = append(c.Cameras, cc)
			}
		}
	}
}

func (k *kioskProc) cameras() map[string]contract.CameraStatus {
	k.t.Helper()
	resp, err := http.Get(k.http + "/api/cameras")
	if err != nil {
		k.t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct{ Cameras []contract.CameraStatus }
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		k.t.Fatal(err)
	}
	out := map[string]contract.CameraStatus{}
	for _, c := range body.Cameras {
		out[c.ID] = c
	}
	return out
}

// waitCameras polls /api/cameras until ok says yes, for at most d.
func (k *kioskProc) waitCameras(what string, d time.Duration, ok func(map[string]contract.CameraStatus) bool) map[string]contract.CameraStatus {
	k.t.Helper()
	var got map[string]contract.CameraStatus
	for deadline := time.Now().Add(d); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if got = k.cameras(); ok(got) {
			return got
		}
	}
	k.t.Fatalf("cameras never %s within %s; last: %+v", what, d, got)
	return nil
}

// clipToken mints a download token as kioskd does (firmware/cameras/clip_token.go):
// EXPIRY "." base64url(HMAC-SHA256(secret, "clip\nID\nEXPIRY")[:16]).
func clipToken(t *testing.T, stateDir, clip string, exp time.Time) string {
	secret, err := os.ReadFile(filepath.Join(stateDir, cameras.TokenKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	e := strconv.FormatInt(exp.Unix(), 10)
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("clip\n" + clip + "\n" + e))
	return e + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:16])
}

func clipData(t *testing.T, ev contract.Event) contract.Clip {
	t.Helper()
	var d struct{ Clip contract.Clip }
	if err := json.Unmarshal(ev.Data, &d); err != nil {
		t.Fatal(err)
	}
	return d.Clip
}

func TestSystemPressClipFetchUpload(t *testing.T) {
	t.Parallel()
	camsim.RequireFFmpeg(t)
	broker := brokertest.Start(t)
	cams := startFakeCams(t, "door")
	state := t.TempDir()
	fetchAddr := freeAddr(t)
	cfg, httpAddr := simConfig(t, state, broker.URL(), withCameras(cams), withClipServer(fetchAddr))
	kiosk := startKiosk(t, cfg, httpAddr)
	plat := newPlatform(t, broker.URL(), true)
	kiosk.waitCameras("door online", 15*time.Second, func(c map[string]contract.CameraStatus) bool { return c["door"].State == "online" })
	time.Sleep(5 * time.Second) // fill the 2 s pre-roll and a GOP

	kiosk.press("police")
	got := plat.waitEvents("clip.ready", 20*time.Second, func(evs []contract.Event) bool {
		return len(ofType(evs, "clip.ready"))+len(ofType(evs, "clip.failed")) > 0
	})
	reg, rec := ofType(got, "incident.registered")[0], ofType(got, "clip.recording")
	if len(ofType(got, "clip.failed")) > 0 || len(rec) != 1 || rec[0].Incident != reg.Incident {
		t.Fatalf("clip events: %v", got)
	}
	ready := ofType(got, "clip.ready")[0]
	clip := clipData(t, ready)
	if ready.Incident != reg.Incident || clip.Camera != "door" || clipData(t, rec[0]).Live == "" {
		t.Errorf("clip.ready %+v of %s; recording %+v", clip, ready.Incident, clipData(t, rec[0]))
	}
	checkClipServer(t, kiosk, state, fetchAddr, clip)
	checkProbe(t, fetchClip(t, clip.Fetch), 2+3) // pre-roll + cap: never taken in hand
	checkClipLink(t, plat, reg.Incident, clip)

	store := &putStore{}
	srv := httptest.NewServer(store)
	defer srv.Close()
	cmd := plat.command(contract.CmdUploadClip, contract.UploadClipArgs{Incident: reg.Incident, Clip: clip.ID, URL: srv.URL + "/c.mp4?sig=x"})
	if r := plat.waitReply(cmd); !r.OK {
		t.Fatalf("upload_clip reply %+v", r)
	}
	got = plat.waitEvents("clip.uploaded", 20*time.Second, func(evs []contract.Event) bool { return len(ofType(evs, "clip.uploaded")) > 0 })
	up := clipData(t, ofType(got, "clip.uploaded")[0])
	if store.sha() != clip.SHA256 || up.SHA256 != clip.SHA256 {
		t.Errorf("object store holds sha256 %s, clip.uploaded says %s, want %s", store.sha(), up.SHA256, clip.SHA256)
	}
	nf := plat.command(contract.CmdUploadClip, contract.UploadClipArgs{Incident: reg.Incident, Clip: "clip-nope", URL: srv.URL})
	if r := plat.waitReply(nf); r.OK || r.Error.Code != contract.ErrNotFound {
		t.Errorf("upload of an unknown clip: %+v, want not_found", r)
	}
}

// checkProbe checks the clip with ffprobe: it decodes, starts on a
// keyframe and lasts target seconds, within one GOP.
func checkProbe(t *testing.T, path string, target float64) {
	t.Helper()
	p, err := camsim.ProbeFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Packets) == 0 || !p.Packets[0].Key {
		t.Fatalf("clip does not start on a keyframe: %d packets", len(p.Packets))
	}
	gop := 0.0
	var lastKey float64
	for i, pk := range p.Packets {
		if pk.Key && i > 0 {
			gop = math.Max(gop, pk.PTS-lastKey)
		}
		if pk.Key {
			lastKey = pk.PTS
		}
	}
	if d := p.Duration(); d < target-0.5 || d > target+gop+0.5 {
		t.Errorf("ffprobe duration %.2f s, want %.1f s within one GOP (%.2f s)", d, target, gop)
	}
}

func fileSHA(t *testing.T, path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// putStore is an object store taking PUTs, checking Content-MD5.
type putStore struct {
	mu   sync.Mutex
	body []byte
}

func (s *putStore) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if int64(len(body)) != r.ContentLength {
		http.Error(w, "short body", http.StatusBadRequest)
		return
	}
	if md5b64(body) != r.Header.Get("Content-MD5") {
		http.Error(w, "BadDigest", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.body = body
	s.mu.Unlock()
}

func (s *putStore) sha() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	sum := sha256.Sum256(s.body)
	return hex.EncodeToString(sum[:])
}

// TestSystemCamerasHonest: a stalled camera is no_video within 5 s; a
// hostile one crash-loops its own process, and meanwhile a press is
// delivered at once and the healthy camera still records.
func TestSystemCamerasHonest(t *testing.T) {
	t.Parallel()
	broker := brokertest.Start(t)
	cams := startFakeCams(t, "door", "gate", "hall")
	cfg, httpAddr := simConfig(t, t.TempDir(), broker.URL(), withCameras(cams), func(c *config.Config) {
		c.MQTT.Heartbeat = config.Duration{Duration: 5 * time.Second}
	})
	kiosk := startKiosk(t, cfg, httpAddr)
	plat := newPlatform(t, broker.URL(), true)
	watcher := brokertest.Connect(t, broker.URL())
	retained, beats := watcher.Subscribe(plat.topics.Cameras()), watcher.Subscribe(plat.topics.Heartbeat())
	kiosk.waitCameras("all online", 15*time.Second, func(c map[string]contract.CameraStatus) bool {
		return c["door"].State == "online" && c["gate"].State == "online" && c["hall"].State == "online"
	})

	cams["hall"].SetMode(camsim.Stall)
	stalled := time.Now()
	kiosk.waitCameras("hall no_video", 5*time.Second, func(c map[string]contract.CameraStatus) bool { return c["hall"].State == "no_video" })
	t.Logf("stall → no_video in %s", time.Since(stalled).Round(10*time.Millisecond))

	cams["gate"].SetMode(camsim.Hostile)
	kiosk.waitCameras("gate restarted", 20*time.Second, func(c map[string]contract.CameraStatus) bool { return c["gate"].Restarts > 0 })
	pressed := time.Now()
	kiosk.press("police")
	plat.waitEvents("incident.registered", 2*time.Second, func(evs []contract.Event) bool {
		return len(ofType(evs, "incident.registered")) > 0
	})
	t.Logf("press → platform during the crash loop in %s", time.Since(pressed).Round(time.Millisecond))
	got := plat.waitEvents("door's clip", 20*time.Second, func(evs []contract.Event) bool {
		for _, ev := range ofType(evs, "clip.ready") {
			if clipData(t, ev).Camera == "door" {
				return true
			}
		}
		return false
	})
	if c := kiosk.cameras()["door"]; c.State != "online" || c.Restarts != 0 {
		t.Errorf("door beside the hostile camera: %+v", c)
	}
	for _, ev := range ofType(got, "clip.failed") {
		if clipData(t, ev).Camera == "door" {
			t.Errorf("door's clip failed: %s", ev.Data)
		}
	}
	checkRetainedCameras(t, retained)
	checkHeartbeatCameras(t, beats)
	checkChildrenDieWithKioskd(t, kiosk)
}

// checkHeartbeatCameras waits for a heartbeat with door online and its
// figures.
func checkHeartbeatCameras(t *testing.T, ch <-chan brokertest.Message) {
	t.Helper()
	deadline := time.After(12 * time.Second)
	for {
		select {
		case m := <-ch:
			var hb contract.Heartbeat
			if err := json.Unmarshal(m.Payload, &hb); err != nil {
				t.Fatal(err)
			}
			for _, c := range hb.Cameras {
				if c.ID == "door" && c.State == "online" && c.FPS > 0 && c.Codec == "h264" && len(hb.Cameras) == 3 {
					return
				}
			}
		case <-deadline:
			t.Error("no heartbeat with door online and its figures")
			return
		}
	}
}

// checkChildrenDieWithKioskd kills kioskd with SIGKILL: its camera
// processes must go too.
func checkChildrenDieWithKioskd(t *testing.T, k *kioskProc) {
	t.Helper()
	children := childrenOf(k.cmd.Process.Pid)
	if len(children) < 2 { // the hostile camera's may be between two runs
		t.Fatalf("kioskd has %d children, want 2 or 3 camera processes", len(children))
	}
	k.kill()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		alive := 0
		for _, pid := range children {
			if running(pid) {
				alive++
			}
		}
		if alive == 0 {
			return
		}
	}
	t.Errorf("camera processes %v outlived kioskd", children)
}

// childrenOf lists the processes whose parent is pid, from /proc.
func childrenOf(pid int) []int {
	var out []int
	dirs, _ := os.ReadDir("/proc")
	for _, d := range dirs {
		child, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		if stat, err := os.ReadFile("/proc/" + d.Name() + "/stat"); err == nil {
			// pid (comm) state ppid ...: comm may hold spaces, so read after the last ')'.
			f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
			if len(f) > 1 && f[1] == strconv.Itoa(pid) {
				out = append(out, child)
			}
		}
	}
	return out
}

// running reports a process that exists and is not a zombie.
func running(pid int) bool {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
	return len(f) > 0 && f[0] != "Z"
}

// checkRetainedCameras reads the retained cameras topic until it shows
// hall without video.
func checkRetainedCameras(t *testing.T, ch <-chan brokertest.Message) {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case m := <-ch:
			var r contract.CameraReport
			if err := json.Unmarshal(m.Payload, &r); err != nil {
				t.Fatal(err)
			}
			for _, c := range r.Cameras {
				if c.ID == "hall" && c.State == "no_video" {
					return
				}
			}
		case <-deadline:
			t.Error("the cameras topic never showed hall no_video")
			return
		}
	}
}

func md5b64(b []byte) string {
	sum := md5.Sum(b)
	return base64.StdEncoding.EncodeToString(sum[:])
}
