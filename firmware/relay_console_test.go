package firmware_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"kioskd/devices"
	"kioskd/hack/brokertest"
	"kioskd/hack/fakecam/camsim"
	"kioskd/hack/relaytest"
)

// TestGuardConsoleLiveView: the console's live view plays the door
// camera in a real headless Chromium (Media Source Extensions over the
// kiosk's fMP4 stream), and the same stream, read behind a guard's
// session, is video ffprobe decodes.
func TestGuardConsoleLiveView(t *testing.T) {
	t.Parallel()
	camsim.RequireFFmpeg(t)
	broker := brokertest.Start(t)
	cams := startFakeCams(t, "door")
	relay := fmt.Sprintf("127.0.0.1:%d", brokertest.FreePort(t))
	k, base := startGuardKiosk(t, broker.URL(), withCameras(cams), withRelay(relay))
	newPlatform(t, broker.URL(), true)
	c := openConsole(t, base)
	c.login(guardName, guardPassword)

	const video = `document.querySelector('video[data-live="/guard/live/door"]')`
	c.wait("the door's live video playing", video+` && `+video+`.readyState >= 2 && `+video+`.currentTime > 0`, 30*time.Second)
	var t1, t2 float64
	c.eval(video+`.currentTime`, &t1)
	time.Sleep(2 * time.Second)
	c.eval(video+`.currentTime`, &t2)
	if t2-t1 < 1.5 {
		t.Errorf("video.currentTime went from %.2f to %.2f in 2 s: not playing live", t1, t2)
	}
	var state string
	c.eval(`document.querySelector('[data-camera="door"] .live-state').className`, &state)
	if !strings.Contains(state, "playing") {
		t.Errorf("live state label %q, want playing", state)
	}
	var size []int
	c.eval(`[`+video+`.videoWidth, `+video+`.videoHeight]`, &size)
	if len(size) != 2 || size[0] != 640 || size[1] != 360 {
		t.Errorf("video size %v, want 640x360", size)
	}
	c.shot("console-live-view")
	k.waitRelay("counting the browser", "door", 5*time.Second, func(s devices.RelayStats) bool { return s.Viewers >= 1 })

	g := newGuardClient(t, base)
	if code, _ := g.get("/guard/live/door"); code != http.StatusUnauthorized {
		t.Errorf("live view without a session: HTTP %d, want 401", code)
	}
	if code, _ := g.login(guardName, guardPassword); code != http.StatusOK {
		t.Fatalf("login: HTTP %d", code)
	}
	path, ctype := relaytest.FetchMP4(t, g.http, base+"/guard/live/door", 4*time.Second, t.TempDir())
	if !strings.HasPrefix(ctype, `video/mp4; codecs="avc1.`) {
		t.Errorf("Content-Type %q", ctype)
	}
	p, err := camsim.ProbeFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if p.Codec != "h264" || p.Width != 640 || len(p.Packets) < 50 || !p.Packets[0].Key {
		t.Errorf("probe of the console's live stream: %s %dx%d, %d packets", p.Codec, p.Width, p.Height, len(p.Packets))
	}
}
