package firmware_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"kioskd/cloudlink/contract"
	"kioskd/devices"
	"kioskd/firmware/cameras"
	"kioskd/firmware/config"
	"kioskd/hack/brokertest"
	"kioskd/hack/fakecam/camsim"
	"kioskd/hack/relaytest"
)

// The live relay end to end: the real kioskd and its camera children,
// fake cameras over 127.0.0.1, RTSP viewers (gortsplib) through kioskd's
// relay port, a viewer that never reads, ffprobe on the clip.

// withRelay serves the relay on addr, and puts addr in live references.
func withRelay(addr string) func(*config.Config) {
	return func(c *config.Config) {
		c.Relay.Listen = &addr
		c.Relay.Address = addr
	}
}

// liveToken mints a live-view token as kioskd does (firmware/cameras/clip_token.go).
func liveToken(t *testing.T, stateDir, camera string, exp time.Time) string {
	secret, err := os.ReadFile(filepath.Join(stateDir, cameras.TokenKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	e := strconv.FormatInt(exp.Unix(), 10)
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("live\n" + camera + "\n" + e))
	return e + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:16])
}

// relayFigures is the live relay's part of /api/cameras.
type relayFigures struct {
	Cameras []struct {
		ID    string
		Relay *devices.RelayStats
	}
	Relay struct {
		Listening string
		Refused   int64
	}
}

func (k *kioskProc) relayFigures() relayFigures {
	k.t.Helper()
	resp, err := http.Get(k.http + "/api/cameras")
	if err != nil {
		k.t.Fatal(err)
	}
	defer resp.Body.Close()
	var f relayFigures
	if err := json.NewDecoder(resp.Body).Decode(&f); err != nil {
		k.t.Fatal(err)
	}
	return f
}

// waitRelay polls the figures of camera until ok says yes.
func (k *kioskProc) waitRelay(what, camera string, d time.Duration, ok func(devices.RelayStats) bool) devices.RelayStats {
	k.t.Helper()
	var last devices.RelayStats
	for deadline := time.Now().Add(d); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		for _, c := range k.relayFigures().Cameras {
			if c.ID == camera && c.Relay != nil {
				if last = *c.Relay; ok(last) {
					return last
				}
			}
		}
	}
	k.t.Fatalf("relay of %s never %s within %s; last: %+v", camera, what, d, last)
	return last
}

// startRelayKiosk runs kioskd with the door camera and its relay on a
// free port, and returns the door's live-view reference from the
// clip.recording event of a press.
func startRelayKiosk(t *testing.T) (k *kioskProc, cam *camsim.Camera, plat *platform, state, addr, live string) {
	t.Helper()
	broker := brokertest.Start(t)
	cams := startFakeCams(t, "door")
	state = t.TempDir()
	addr = fmt.Sprintf("127.0.0.1:%d", brokertest.FreePort(t))
	cfg, httpAddr := simConfig(t, state, broker.URL(), withCameras(cams), withRelay(addr), withClipServer(freeAddr(t)))
	k = startKiosk(t, cfg, httpAddr)
	plat = newPlatform(t, broker.URL(), true)
	k.waitCameras("door online", 15*time.Second, func(c map[string]contract.CameraStatus) bool { return c["door"].State == "online" })
	time.Sleep(5 * time.Second) // fill the 2 s pre-roll and a GOP
	k.press("police")
	got := plat.waitEvents("clip.recording", 10*time.Second, func(evs []contract.Event) bool { return len(ofType(evs, "clip.recording")) > 0 })
	live = clipData(t, ofType(got, "clip.recording")[0]).Live
	if !strings.HasPrefix(live, "rtsp://"+addr+"/door?token=") {
		t.Fatalf("live reference %q, want rtsp://%s/door?token=...", live, addr)
	}
	return k, cams["door"], plat, state, addr, live
}

func TestSystemRelayOneSessionManyViewers(t *testing.T) {
	t.Parallel()
	camsim.RequireFFmpeg(t)
	k, cam, _, state, addr, live := startRelayKiosk(t)
	var viewers []*relaytest.Viewer
	for range 3 {
		viewers = append(viewers, relaytest.Watch(t, live, nil))
	}
	for i, v := range viewers {
		v.WaitUnits(t, 75, 15*time.Second) // 3 s at 25 fps
		units, keys, firstKey, bad := v.Units()
		if v.Codec != "h264" || !firstKey || keys < 1 || bad > 0 {
			t.Errorf("viewer %d: codec %s, %d units, %d keyframes, first is key %v, %d bad packets", i, v.Codec, units, keys, firstKey, bad)
		}
	}
	if got := cam.Played(); got != 1 {
		t.Errorf("the camera played %d sessions, want exactly 1 for the clip and 3 viewers", got)
	}
	k.waitRelay("counting 3 viewers", "door", 5*time.Second, func(s devices.RelayStats) bool {
		return s.Viewers == 3 && s.Served == 3 && s.Bytes > 0 && s.Dropped == 0
	})

	// ffmpeg's own RTSP client, through the same relay.
	out, err := exec.Command("ffprobe", "-v", "error", "-rtsp_transport", "tcp", "-show_entries",
		"stream=codec_name,width,height", "-of", "csv=p=0", live).CombinedOutput()
	if got := strings.TrimSpace(string(out)); err != nil || got != "h264,640,360" {
		t.Errorf("ffprobe of the live reference: %q (%v), want h264,640,360", got, err)
	}

	good := strings.TrimPrefix(live, "rtsp://"+addr+"/door?token=")
	refused := []struct{ name, url, want string }{
		{"no token", "rtsp://" + addr + "/door", "RTSP/1.0 401"},
		{"wrong token", "rtsp://" + addr + "/door?token=" + good[:len(good)-2] + "AA", "RTSP/1.0 401"},
		{"expired token", "rtsp://" + addr + "/door?token=" + liveToken(t, state, "door", time.Now().Add(-time.Second)), "RTSP/1.0 401"},
		{"another camera's token", "rtsp://" + addr + "/hall?token=" + good, "RTSP/1.0 401"},
		{"no such camera", "rtsp://" + addr + "/nope?token=" + liveToken(t, state, "nope", time.Now().Add(time.Minute)), "RTSP/1.0 404"},
	}
	for _, tc := range refused {
		status, err := relaytest.Status(addr, "DESCRIBE "+tc.url+" RTSP/1.0")
		if err != nil || !strings.HasPrefix(status, tc.want) {
			t.Errorf("%s: %q (%v), want %s", tc.name, status, err, tc.want)
		}
	}
	if v, err := relaytest.Try(refused[2].url, nil); err == nil {
		v.Client.Close()
		t.Errorf("an RTSP client played with an expired token")
	}
	if f := k.relayFigures(); f.Relay.Refused != int64(len(refused))+1 || f.Relay.Listening != addr {
		t.Errorf("relay status %+v, want %d refused, listening on %s", f.Relay, len(refused)+1, addr)
	}
	if got := cam.Played(); got != 1 {
		t.Errorf("the camera played %d sessions after the refusals, want 1", got)
	}
}

func TestSystemRelaySlowViewerDropped(t *testing.T) {
	t.Parallel()
	camsim.RequireFFmpeg(t)
	k, cam, plat, _, addr, live := startRelayKiosk(t)
	good := []*relaytest.Viewer{relaytest.Watch(t, live, nil), relaytest.Watch(t, live, nil)}
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := relaytest.Stall(conn, live); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	k.waitRelay("dropping the slow viewer", "door", 60*time.Second, func(s devices.RelayStats) bool { return s.Dropped == 1 })
	t.Logf("slow viewer dropped after %v", time.Since(start).Round(100*time.Millisecond))
	for i, v := range good {
		before, _, _, _ := v.Units()
		v.WaitUnits(t, before+50, 5*time.Second) // 2 s of video, in real time
		if _, _, _, bad := v.Units(); bad > 0 {
			t.Errorf("good viewer %d lost %d packets", i, bad)
		}
	}
	k.waitRelay("keeping the good viewers", "door", 5*time.Second, func(s devices.RelayStats) bool { return s.Viewers == 2 && s.Served == 3 })

	// The clip of the press that gave us the reference is whole.
	got := plat.waitEvents("clip.ready", 20*time.Second, func(evs []contract.Event) bool {
		return len(ofType(evs, "clip.ready"))+len(ofType(evs, "clip.failed")) > 0
	})
	if failed := ofType(got, "clip.failed"); len(failed) > 0 {
		t.Fatalf("clip failed: %+v", clipData(t, failed[0]))
	}
	clip := clipData(t, ofType(got, "clip.ready")[0])
	checkProbe(t, fetchClip(t, clip.Fetch), 2+3)
	if got := cam.Played(); got != 1 {
		t.Errorf("the camera played %d sessions, want 1", got)
	}
}
