package cameras

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"kioskd/firmware/outbox"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"kioskd/cloudlink/contract"
	"kioskd/devices/clipfile"
	"kioskd/firmware/config"
	"kioskd/firmware/update"
	"kioskd/hack/brokertest"
	"kioskd/hack/fakecam/camsim"
	"kioskd/kiosk"
	"kioskd/kiosk/journal"
)

// readyClip presses, waits for the clip's end and returns it.
// readyClip presses once the cameras run and returns the first clip, which
// must be ready. (A press before a camera's process runs fails its clip at
// once, by design; that is not what these tests are about.)
func (r *camRig) readyClip() (incident string, c kiosk.Clip) {
	r.t.Helper()
	for _, cam := range r.cfg.Cameras {
		waitFor(r.t, cam.ID+" online", 10*time.Second, func() bool { return r.status(cam.ID).State == "online" })
	}
	incident = r.press()
	waitFor(r.t, "clip.ready", 10*time.Second, func() bool { return len(r.events(kiosk.EvClipReady, kiosk.EvClipFailed)) > 0 })
	ev := r.events(kiosk.EvClipReady, kiosk.EvClipFailed)[0]
	if ev.Type != kiosk.EvClipReady {
		r.t.Fatalf("clip failed: %s", ev.Data)
	}
	return incident, clipOf(r.t, ev)
}

func TestPressRecordsClip(t *testing.T) {
	r := newCamRig(t, map[string]string{"door": "online", "hall": "online"}, func(c *config.Config) {
		c.Cameras[1].Covers = []string{"lawyer"} // hall does not film police calls
	})
	waitFor(t, "door online", 5*time.Second, func() bool { return r.status("door").State == "online" })
	inc, clip := r.readyClip()
	rec := r.events(kiosk.EvClipRecording)
	if len(rec) != 1 || rec[0].Incident != inc || !strings.HasPrefix(clipOf(t, rec[0]).Live, "rtsp://127.0.0.1:8554/door?token=") {
		t.Fatalf("clip.recording events = %v, want one for %s with a live reference", rec, inc)
	}
	if clip.Camera != "door" || clip.State != journal.ClipReady || clip.BeforePress != 10000 {
		t.Errorf("clip = %+v, want door's, ready, 10 s before the press", clip)
	}
	stored, err := r.j.ClipByID(clip.ID)
	if err != nil || stored.Incident != inc || stored.State != journal.ClipReady || stored.SHA256 != clip.SHA256 {
		t.Fatalf("index: %+v, %v", stored, err)
	}
	sum, n, err := update.FileSHA256(r.cs.clipPath(stored.File))
	if err != nil || sum != clip.SHA256 || n != clip.Bytes {
		t.Errorf("file: sha256 %s, %d bytes, %v; event says %s, %d", sum, n, err, clip.SHA256, clip.Bytes)
	}
	// Registered and never taken in hand: extended to the 3 s cap.
	if want := int64(10000 + 3000); clip.Duration < want-200 || clip.Duration > want+200 {
		t.Errorf("duration %d ms, want about %d (pre-roll + cap)", clip.Duration, want)
	}
}

func TestClipNotExtendedOnceAccepted(t *testing.T) {
	r := newCamRig(t, map[string]string{"door": "online"}, func(c *config.Config) {
		c.Cameras[0].PostRoll = config.Duration{Duration: 2 * time.Second}
		c.Cameras[0].PostRollCap = config.Duration{Duration: 6 * time.Second}
	})
	waitFor(t, "door online", 5*time.Second, func() bool { return r.status("door").State == "online" })
	inc := r.press()
	r.submit(kiosk.Accept{Incident: inc, Responder: "王警官"})
	waitFor(t, "clip.ready", 10*time.Second, func() bool { return len(r.events(kiosk.EvClipReady)) > 0 })
	c := clipOf(t, r.events(kiosk.EvClipReady)[0])
	if want := int64(10000 + 2000); c.Duration < want-200 || c.Duration > want+200 {
		t.Errorf("duration %d ms, want about %d: accepted at once, so not extended", c.Duration, want)
	}
}

func TestClipFetchToken(t *testing.T) {
	r := newCamRig(t, map[string]string{"door": "online"})
	_, clip := r.readyClip()
	mux := http.NewServeMux()
	r.cs.Routes(mux)
	r.cs.clipRoutes(mux, false)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	expired := &tokens{secret: r.cs.tokens.secret, ttl: -time.Second}
	other := &tokens{secret: make([]byte, 32), ttl: time.Hour}
	tests := []struct {
		name, query, rng string
		want             int
	}{
		{"good token", "?token=" + r.cs.tokens.Mint("clip", clip.ID), "", http.StatusOK},
		{"good token, a range", "?token=" + r.cs.tokens.Mint("clip", clip.ID), "bytes=100-199", http.StatusPartialContent},
		{"no token", "", "", http.StatusForbidden},
		{"expired", "?token=" + expired.Mint("clip", clip.ID), "", http.StatusForbidden},
		{"another secret", "?token=" + other.Mint("clip", clip.ID), "", http.StatusForbidden},
		{"another clip's token", "?token=" + r.cs.tokens.Mint("clip", "clip-0"), "", http.StatusForbidden},
		{"a live token", "?token=" + r.cs.tokens.Mint("live", clip.ID), "", http.StatusForbidden},
	}
	for _, tt := range tests {
		req, _ := http.NewRequest("GET", srv.URL+"/api/clips/"+clip.ID+tt.query, nil)
		if tt.rng != "" {
			req.Header.Set("Range", tt.rng)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.want {
			t.Errorf("%s: status %d, want %d (%s)", tt.name, resp.StatusCode, tt.want, body)
			continue
		}
		switch tt.want {
		case http.StatusOK:
			if sum := sha256.Sum256(body); hex.EncodeToString(sum[:]) != clip.SHA256 {
				t.Errorf("%s: body sha256 differs from the clip's", tt.name)
			}
		case http.StatusPartialContent:
			if len(body) != 100 {
				t.Errorf("%s: %d bytes, want 100", tt.name, len(body))
			}
		}
	}
	resp, err := http.Get(srv.URL + "/api/cameras")
	if err != nil {
		t.Fatal(err)
	}
	var got struct{ Cameras []contract.CameraStatus }
	json.NewDecoder(resp.Body).Decode(&got)
	resp.Body.Close()
	if len(got.Cameras) != 1 || got.Cameras[0].ID != "door" || got.Cameras[0].State != "online" || got.Cameras[0].Codec != "h264" {
		t.Errorf("/api/cameras = %+v", got)
	}
}

// objectStore is an HTTP PUT target that checks Content-MD5, like S3.
type objectStore struct {
	mu     sync.Mutex
	fail   int // answer 500 to this many PUTs first
	puts   int
	stored []byte
}

func (o *objectStore) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.puts++
	body, err := io.ReadAll(r.Body)
	sum := md5.Sum(body)
	switch {
	case r.Method != http.MethodPut || err != nil || int64(len(body)) != r.ContentLength:
		http.Error(w, "bad request", http.StatusBadRequest)
	case r.Header.Get("Content-MD5") != base64.StdEncoding.EncodeToString(sum[:]):
		http.Error(w, "BadDigest", http.StatusBadRequest)
	case o.fail > 0:
		o.fail--
		http.Error(w, "InternalError", http.StatusInternalServerError)
	default:
		o.stored = body
	}
}

func uploadArgs(incident, clip, url string) contract.UploadClipArgs {
	return contract.UploadClipArgs{Incident: incident, Clip: clip, URL: url}
}

func TestUploadClip(t *testing.T) {
	r := newCamRig(t, map[string]string{"door": "online"})
	inc, clip := r.readyClip()
	store := &objectStore{fail: 1}
	srv := httptest.NewServer(store)
	defer srv.Close()
	refusals := []struct {
		args contract.UploadClipArgs
		code string
	}{
		{uploadArgs(inc, "clip-nope", srv.URL), contract.ErrNotFound},
		{uploadArgs("inc-other", clip.ID, srv.URL), contract.ErrNotFound},
		{uploadArgs(inc, clip.ID, "ftp://example.cn/x"), contract.ErrBadArgs},
	}
	for _, tt := range refusals {
		if rerr := r.cs.UploadClip(t.Context(), "cmd-1", tt.args); rerr == nil || rerr.Code != tt.code {
			t.Errorf("UploadClip(%+v) = %v, want %s", tt.args, rerr, tt.code)
		}
	}
	if rerr := r.cs.UploadClip(t.Context(), "cmd-2", uploadArgs(inc, clip.ID, srv.URL+"/clips/x.mp4?Signature=secret")); rerr != nil {
		t.Fatalf("UploadClip = %v", rerr)
	}
	waitFor(t, "clip.uploaded", 10*time.Second, func() bool { return len(r.events(kiosk.EvClipUploaded)) > 0 })
	ev := r.events(kiosk.EvClipUploaded)[0]
	var data struct {
		Clip     kiosk.Clip
		URL      string
		Attempts int
	}
	json.Unmarshal(ev.Data, &data)
	sum := sha256.Sum256(store.stored)
	if hex.EncodeToString(sum[:]) != clip.SHA256 || data.Clip.SHA256 != clip.SHA256 || data.Attempts != 2 {
		t.Errorf("stored sha256 %x, event %+v; want %s after 2 attempts", sum, data, clip.SHA256)
	}
	if strings.Contains(data.URL, "secret") {
		t.Errorf("event url %q carries the presigned signature", data.URL)
	}
	if c, _ := r.j.ClipByID(clip.ID); c.State != journal.ClipUploaded {
		t.Errorf("index state %q, want uploaded", c.State)
	}
}

func TestUploadClipGivesUp(t *testing.T) {
	r := newCamRig(t, map[string]string{"door": "online"})
	inc, clip := r.readyClip()
	store := &objectStore{fail: 1000}
	srv := httptest.NewServer(store)
	if rerr := r.cs.UploadClip(t.Context(), "cmd-1", uploadArgs(inc, clip.ID, srv.URL)); rerr != nil {
		t.Fatalf("UploadClip = %v", rerr)
	}
	waitFor(t, "clip.upload_failed", 10*time.Second, func() bool { return len(r.events(kiosk.EvClipUploadFailed)) > 0 })
	srv.Close()
	if store.puts != uploadAttempts {
		t.Errorf("server errors: %d PUTs, want %d", store.puts, uploadAttempts)
	}
	// An expired presigned URL (403) is final at once.
	forbidden := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		http.Error(w, "AccessDenied", http.StatusForbidden)
	}))
	defer forbidden.Close()
	r.cs.UploadClip(t.Context(), "cmd-2", uploadArgs(inc, clip.ID, forbidden.URL))
	waitFor(t, "a second clip.upload_failed", 10*time.Second, func() bool { return len(r.events(kiosk.EvClipUploadFailed)) > 1 })
	var data struct {
		Reason   string
		Attempts int
	}
	json.Unmarshal(r.events(kiosk.EvClipUploadFailed)[1].Data, &data)
	if data.Attempts != 1 || !strings.Contains(data.Reason, "403") {
		t.Errorf("403: %+v, want one attempt", data)
	}
}

// ackEvents acks events as the platform would, through the outbox.
func (r *camRig) ackEvents(evs []journal.Event) {
	r.t.Helper()
	var ids []string
	for _, ev := range evs {
		ids = append(ids, ev.ID)
	}
	if err := outbox.New(r.j, r.ctrl, r.cs.log).Ack(ids); err != nil {
		r.t.Fatal(err)
	}
}

func TestLowDisk(t *testing.T) {
	r := newCamRig(t, map[string]string{"door": "online"}, func(c *config.Config) {
		c.Clips.LowDisk.Bytes = 1 << 60 // more than any disk: always low
	})
	waitFor(t, "clips_low_disk raised", 5*time.Second, func() bool {
		_, ok := r.ctrl.State().Faults[faultClipsLowDisk]
		return ok
	})
	r.press()
	waitFor(t, "clip.failed", 5*time.Second, func() bool { return len(r.events(kiosk.EvClipFailed)) > 0 })
	if c := clipOf(t, r.events(kiosk.EvClipFailed)[0]); !strings.Contains(c.Error, "low_disk") {
		t.Errorf("clip error %q, want the low-disk refusal", c.Error)
	}
	r.cs.clips.LowDisk.Bytes = 16 << 20
	r.cs.keepStore(t.Context())
	if _, ok := r.ctrl.State().Faults[faultClipsLowDisk]; ok {
		t.Error("clips_low_disk still raised with space back")
	}
}

// TestRecoverClips: clips a previous run left recording are settled at
// start, each after its clip.recording: ready if their file was finished
// (with a fetch URL), ready and partial if a temp file holds whole
// fragments (it is cut after the last one and renamed), failed if not.
func TestRecoverClips(t *testing.T) {
	r := newIdleCamRig(t, map[string]string{}, func(c *config.Config) {
		// The clip server would listen on loopback; its URLs name the address the platform reaches.
		c.Clips.FetchListen, c.Clips.FetchAddress = fmt.Sprintf("127.0.0.1:%d", brokertest.FreePort(t)), "10.8.0.20:8082"
	})
	if err := os.MkdirAll(r.cs.clips.Dir, 0o750); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"clip-done", "clip-cut", "clip-empty", "clip-lost"} {
		if err := r.j.AddClip(journal.Clip{ID: id, Incident: "inc-1", Camera: "door", File: id + ".mp4", Ordered: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(r.cs.clipPath("clip-done.mp4"), []byte("a finished mp4"), 0o640); err != nil {
		t.Fatal(err)
	}
	writePart(t, r.cs.clipPath("clip-cut.mp4.part"), 100)  // 4 s, never closed
	writePart(t, r.cs.clipPath("clip-empty.mp4.part"), 10) // under one fragment
	r.cs.recoverClips(t.Context())
	want := map[string]string{"clip-done": journal.ClipReady, "clip-cut": journal.ClipReady,
		"clip-empty": journal.ClipFailed, "clip-lost": journal.ClipFailed}
	for id, state := range want {
		if c, err := r.j.ClipByID(id); err != nil || c.State != state || c.Partial != (id == "clip-cut") {
			t.Errorf("%s: %+v, %v; want %s, partial only if cut", id, c, err, state)
		}
	}
	checkClipOrder(t, r.events(kiosk.EvClipRecording, kiosk.EvClipReady, kiosk.EvClipFailed), 4)
	for _, ev := range r.events(kiosk.EvClipReady) {
		c := clipOf(t, ev)
		if !strings.HasPrefix(c.Fetch, "http://10.8.0.20:8082/api/clips/"+c.ID+"?token=") {
			t.Errorf("%s fetch %q, want one", c.ID, c.Fetch)
		}
		if c.ID == "clip-cut" && (!c.Partial || c.Duration < 2900 || c.Duration > 3960 || c.Cut == "") {
			t.Errorf("partial clip %+v: want partial, 3–3.96 s (4 s less the last fragment), a cut", c)
		}
	}
	if _, err := os.Stat(r.cs.clipPath("clip-cut.mp4")); err != nil {
		t.Errorf("partial clip not renamed: %v", err)
	}
}

// writePart writes n frames of the loop clip as a camera process would,
// and leaves the file unclosed, as a kill does.
func writePart(t *testing.T, path string, n int) {
	t.Helper()
	src, err := camsim.LoadAnnexB(filepath.Join("..", "..", "hack", "fakecam", "testdata", "loop.h264"), 25)
	if err != nil {
		t.Fatal(err)
	}
	w, err := clipfile.Create(path, clipfile.Codec{SPS: src.SPS, PPS: src.PPS})
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		au := src.AUs[i%len(src.AUs)]
		var data []byte
		for _, nal := range au.NALs {
			data = binary.BigEndian.AppendUint32(data, uint32(len(nal)))
			data = append(data, nal...)
		}
		if err := w.Write(data, au.Key, time.Duration(i)*src.FrameDur); err != nil {
			t.Fatal(err)
		}
	}
	w.Abort()
}

// checkClipOrder checks that each of n clips has one clip.recording
// and, after it, one end (clip.ready or clip.failed).
func checkClipOrder(t *testing.T, evs []journal.Event, n int) {
	t.Helper()
	recording, ended := map[string]bool{}, map[string]bool{}
	for _, ev := range evs {
		id := clipOf(t, ev).ID
		switch {
		case ev.Type == kiosk.EvClipRecording && !recording[id]:
			recording[id] = true
		case ev.Type != kiosk.EvClipRecording && recording[id] && !ended[id]:
			ended[id] = true
		default:
			t.Errorf("%s of clip %s out of order (recording seen %v, end seen %v)", ev.Type, id, recording[id], ended[id])
		}
	}
	if len(ended) != n {
		t.Errorf("%d clips reported recording then ended, want %d", len(ended), n)
	}
}
