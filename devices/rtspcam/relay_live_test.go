package rtspcam_test

import (
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"kioskd/devices"
	"kioskd/devices/rtspcam"
	"kioskd/hack/fakecam/camsim"
	"kioskd/hack/relaytest"
)

// The live relay of one camera child, over its unix socket: real RTSP
// viewers (gortsplib), the fMP4 stream read by ffprobe, a viewer that
// stops reading.

// serveLive starts a fake camera and a child with a live socket, and
// waits until the camera is online.
func serveLive(t *testing.T) (cam *camsim.Camera, c *child, sock string) {
	t.Helper()
	cam = startCam(t, camsim.Options{Source: loopSource(t), RandomOrigin: true})
	sock = filepath.Join(t.TempDir(), "live.sock")
	c = serve(t, cam.URL(), func(cfg *rtspcam.Config) { cfg.LiveSocket = sock })
	c.waitHealth("online", 15*time.Second, online)
	return cam, c, sock
}

func relayStats(h devices.CameraHealth) devices.RelayStats {
	if h.Relay == nil {
		return devices.RelayStats{}
	}
	return *h.Relay
}

func TestRelayViewersShareOneSession(t *testing.T) {
	t.Parallel()
	cam, c, sock := serveLive(t)
	var viewers []*relaytest.Viewer
	for range 3 {
		viewers = append(viewers, relaytest.Watch(t, "rtsp://cam/live", relaytest.Unix(sock)))
	}
	for i, v := range viewers {
		v.WaitUnits(t, 75, 15*time.Second) // 3 s at 25 fps
		units, keys, firstKey, bad := v.Units()
		if v.Codec != "h264" || !firstKey || keys < 1 || bad > 0 {
			t.Errorf("viewer %d: codec %s, %d units, %d keyframes, first is key %v, %d bad packets", i, v.Codec, units, keys, firstKey, bad)
		}
	}
	if got := cam.Played(); got != 1 {
		t.Errorf("the camera played %d sessions, want 1 for 3 viewers", got)
	}
	h := c.waitHealth("3 viewers counted", 5*time.Second, func(h devices.CameraHealth) bool {
		s := relayStats(h)
		return s.Viewers == 3 && s.Served == 3 && s.Bytes > 0
	})
	if s := relayStats(h); s.Dropped != 0 {
		t.Errorf("relay stats %+v, want none dropped", s)
	}
}

func TestRelayFMP4IsPlayable(t *testing.T) {
	t.Parallel()
	camsim.RequireFFmpeg(t)
	_, _, sock := serveLive(t)
	client := &http.Client{Transport: &http.Transport{DialContext: relaytest.Unix(sock)}}
	path, ctype := relaytest.FetchMP4(t, client, "http://cam/live.mp4", 4*time.Second, t.TempDir())
	if !strings.HasPrefix(ctype, `video/mp4; codecs="avc1.`) {
		t.Errorf("Content-Type %q, want video/mp4 with an avc1 codec", ctype)
	}
	p, err := camsim.ProbeFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if p.Codec != "h264" || p.Width != 640 || p.Height != 360 || len(p.Packets) < 50 || !p.Packets[0].Key {
		t.Fatalf("probe: %s %dx%d, %d packets, want h264 640x360, ≥ 50 packets from a keyframe", p.Codec, p.Width, p.Height, len(p.Packets))
	}
	keys := 0
	for _, pk := range p.Packets {
		if pk.Key {
			keys++
		}
	}
	if keys > 3 { // a 2 s GOP: every sample marked key would be a lie
		t.Errorf("%d of %d samples flagged as keyframes in 4 s", keys, len(p.Packets))
	}
	if d := p.Duration(); d < 2 || d > 7 {
		t.Errorf("stream spans %.2f s of video in 4 s of reading", d)
	}
}

func TestRelaySlowViewerIsDropped(t *testing.T) {
	t.Parallel()
	camsim.RequireFFmpeg(t)
	_, c, sock := serveLive(t)
	c.ready(2 * time.Second)
	good := relaytest.Watch(t, "rtsp://cam/live", relaytest.Unix(sock))
	conn, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := relaytest.Stall(conn, "rtsp://cam/live"); err != nil {
		t.Fatal(err)
	}
	order := clipOrder(t, "clip-slow", time.Second, 3*time.Second)
	c.order(order)
	c.waitHealth("the slow viewer dropped", 40*time.Second, func(h devices.CameraHealth) bool {
		return relayStats(h).Dropped == 1
	})
	before, _, _, _ := good.Units()
	good.WaitUnits(t, before+50, 5*time.Second) // 2 s of video, in real time
	if _, _, _, bad := good.Units(); bad > 0 {
		t.Errorf("the good viewer lost %d packets", bad)
	}
	probe(t, c.waitClip(order.ID, 20*time.Second), order.Path)
	h := c.waitHealth("one viewer left", 5*time.Second, func(h devices.CameraHealth) bool { return relayStats(h).Viewers == 1 })
	if s := relayStats(h); s.Served != 2 || s.Dropped != 1 {
		t.Errorf("relay stats %+v, want 2 served, 1 dropped", s)
	}
}

func TestRelayRefusesWhatItCannotServe(t *testing.T) {
	t.Parallel()
	_, _, sock := serveLive(t)
	tests := []struct{ request, want string }{
		{"SETUP rtsp://cam/live/trackID=0 RTSP/1.0\r\nTransport: RTP/AVP;unicast;client_port=5000-5001", "RTSP/1.0 461"},
		{"PLAY rtsp://cam/live RTSP/1.0", "RTSP/1.0 455"},
		{"RECORD rtsp://cam/live RTSP/1.0", "RTSP/1.0 501"},
		{"GET /other HTTP/1.1", "HTTP/1.1 404"},
	}
	for _, tc := range tests {
		conn, err := net.Dial("unix", sock)
		if err != nil {
			t.Fatal(err)
		}
		conn.SetDeadline(time.Now().Add(5 * time.Second))
		conn.Write([]byte(tc.request + "\r\nCSeq: 4\r\n\r\n"))
		buf := make([]byte, 64)
		n, _ := conn.Read(buf)
		conn.Close()
		if got := string(buf[:n]); !strings.HasPrefix(got, tc.want) {
			t.Errorf("%q: reply %q, want %s", strings.Fields(tc.request)[0], got, tc.want)
		}
	}
}

// TestRelayH265: an H.265 camera's viewers get RFC 7798 RTP (FU for the
// large slices) and an hvc1 fMP4 stream.
func TestRelayH265(t *testing.T) {
	t.Parallel()
	path := encode(t, "live.h265", "640x360", "-c:v", "libx265",
		"-x265-params", "keyint=50:min-keyint=50:scenecut=0:bframes=0:log-level=error")
	cam := startCam(t, camsim.Options{Source: loadAnnexB(t, path), RandomOrigin: true})
	sock := filepath.Join(t.TempDir(), "live.sock")
	c := serve(t, cam.URL(), func(cfg *rtspcam.Config) { cfg.LiveSocket = sock })
	c.waitHealth("online", 15*time.Second, online)

	v := relaytest.Watch(t, "rtsp://cam/live", relaytest.Unix(sock))
	v.WaitUnits(t, 50, 15*time.Second)
	if units, keys, firstKey, bad := v.Units(); v.Codec != "h265" || !firstKey || keys < 1 || bad > 0 {
		t.Errorf("viewer: codec %s, %d units, %d keyframes, first is key %v, %d bad packets", v.Codec, units, keys, firstKey, bad)
	}
	client := &http.Client{Transport: &http.Transport{DialContext: relaytest.Unix(sock)}}
	mp4, ctype := relaytest.FetchMP4(t, client, "http://cam/live.mp4", 3*time.Second, t.TempDir())
	if !strings.HasPrefix(ctype, `video/mp4; codecs="hvc1.`) {
		t.Errorf("Content-Type %q, want an hvc1 codec", ctype)
	}
	p, err := camsim.ProbeFile(mp4)
	if err != nil {
		t.Fatal(err)
	}
	if p.Codec != "hevc" || p.Width != 640 || len(p.Packets) < 40 || !p.Packets[0].Key {
		t.Errorf("probe: %s %dx%d, %d packets", p.Codec, p.Width, p.Height, len(p.Packets))
	}
}
