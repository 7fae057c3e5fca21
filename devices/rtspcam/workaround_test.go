package rtspcam_test

import (
	"os"
	"strings"
	"testing"
	"time"

	"kioskd/devices"
	"kioskd/hack/fakecam/camsim"
)

// Each test here plays a camera with one of vdk v0.0.27's known faults
// and checks that devices/rtspcam records it correctly anyway.

// encode makes a source clip with ffmpeg (testsrc2, 8 s, 25 fps).
func encode(t *testing.T, name, size string, args ...string) string {
	t.Helper()
	camsim.RequireFFmpeg(t)
	path, err := camsim.Encode(t.TempDir(), name, size, 8, args...)
	if err != nil {
		t.Fatal(err)
	}
	return path
}

func loadAnnexB(t *testing.T, path string) *camsim.Source {
	t.Helper()
	src, err := camsim.LoadAnnexB(path, 25)
	if err != nil {
		t.Fatal(err)
	}
	return src
}

var x264 = []string{"-c:v", "libx264", "-bf", "0", "-g", "50", "-keyint_min", "50", "-sc_threshold", "0"}

// recordOne waits for pre-roll, records one clip and checks it with ffprobe.
func recordOne(t *testing.T, c *child, pre, post time.Duration) (devices.ClipReport, camsim.Probe) {
	t.Helper()
	c.ready(pre + gop)
	o := clipOrder(t, "clip", pre, post)
	c.order(o)
	r := c.waitClip("clip", post+10*time.Second)
	p := probe(t, r, o.Path)
	if r.KeyframeBeforePressMs < pre.Milliseconds() {
		t.Errorf("keyframe %d ms before the press, want ≥ %v", r.KeyframeBeforePressMs, pre)
	}
	if want := (pre + post).Seconds(); p.Duration() < want-0.1 || p.Duration() > want+oneGOP.Seconds() {
		t.Errorf("clip lasts %.2f s, want %.1f s within one GOP", p.Duration(), want)
	}
	return r, p
}

// TestSTAPAKeyframes: a small IDR aggregated with SPS and PPS in one
// STAP-A packet (vdk never flags it), and no parameter sets in the SDP.
func TestSTAPAKeyframes(t *testing.T) {
	t.Parallel()
	src := loadAnnexB(t, encode(t, "small.h264", "160x96", append(x264, "-crf", "45")...))
	key := src.AUs[0]
	size := len(src.SPS) + len(src.PPS) + 6 + 1
	for _, n := range key.NALs {
		size += 2 + len(n)
	}
	if len(key.NALs) != 1 || size > 1400 {
		t.Fatalf("the IDR (%d NAL units, %d bytes with SPS/PPS) does not fit one STAP-A: the test proves nothing", len(key.NALs), size)
	}
	cam := startCam(t, camsim.Options{Source: src, STAPA: true, NoSprop: true, RandomOrigin: true})
	c := serve(t, cam.URL(), nil)
	recordOne(t, c, 2*time.Second, 2*time.Second)
}

// TestH265CRAKeyframes: H.265 with open GOPs, whose keyframes after the
// first are CRA (type 21), not the IDR_W_RADL vdk looks for.
func TestH265CRAKeyframes(t *testing.T) {
	t.Parallel()
	path := encode(t, "cra.h265", "320x180", "-c:v", "libx265",
		"-x265-params", "keyint=50:min-keyint=50:scenecut=0:open-gop=1:bframes=0:log-level=error")
	src := loadAnnexB(t, path)
	if cra := countKeyNAL(src, 21); cra == 0 {
		t.Fatal("the source has no CRA keyframes: the test proves nothing")
	}
	cam := startCam(t, camsim.Options{Source: src, RandomOrigin: true})
	c := serve(t, cam.URL(), nil)
	_, p := recordOne(t, c, 2*time.Second, 2*time.Second)
	if p.Codec != "hevc" {
		t.Errorf("codec %s, want hevc", p.Codec)
	}
}

// countKeyNAL counts the H.265 keyframes whose first slice has NAL type t.
func countKeyNAL(src *camsim.Source, t int) int {
	n := 0
	for _, au := range src.AUs {
		if au.Key && int(au.NALs[0][0]>>1)&0x3f == t {
			n++
		}
	}
	return n
}

// TestMultiSliceFrames: four slices per picture, one packet each, are one
// frame, not four.
func TestMultiSliceFrames(t *testing.T) {
	t.Parallel()
	src := loadAnnexB(t, encode(t, "slices.h264", "640x360", append(x264, "-slices", "4", "-b:v", "1M")...))
	if n := len(src.AUs[1].NALs); n != 4 {
		t.Fatalf("source has %d slices per picture, want 4", n)
	}
	cam := startCam(t, camsim.Options{Source: src, RandomOrigin: true})
	c := serve(t, cam.URL(), nil)
	r, p := recordOne(t, c, 2*time.Second, 2*time.Second)
	perSecond := float64(len(p.Packets)-1) / p.Duration()
	if perSecond < 24 || perSecond > 26 {
		t.Errorf("%d pictures in %.2f s: %.1f per second, want 25", len(p.Packets), p.Duration(), perSecond)
	}
	t.Logf("report %+v", r)
}

// TestTimestampWrap: RTP timestamps that start near 2^32 and wrap during
// the clip give a continuous clip.
func TestTimestampWrap(t *testing.T) {
	t.Parallel()
	cam := startCam(t, camsim.Options{Source: loopSource(t), Origin: 1<<32 - 90000*5})
	c := serve(t, cam.URL(), nil)
	c.ready(2*time.Second + gop) // the wrap comes 5 s after the camera started
	recordOne(t, c, 2*time.Second, 4*time.Second)
}

// TestBFramesAreAConfigFault: a camera sending B-frames is reported as a
// configuration fault and nothing is fed to the muxer.
func TestBFramesAreAConfigFault(t *testing.T) {
	t.Parallel()
	path := encode(t, "bframes.mp4", "320x180", "-c:v", "libx264", "-bf", "2", "-g", "50")
	src, err := camsim.LoadMP4(path)
	if err != nil {
		t.Fatal(err)
	}
	cam := startCam(t, camsim.Options{Source: src, RandomOrigin: true})
	c := serve(t, cam.URL(), nil)
	h := c.waitHealth("config_fault", 10*time.Second, func(h devices.CameraHealth) bool { return h.State == devices.CameraConfigFault })
	if !strings.Contains(h.Problem, "B-frames") || h.PrerollBytes != 0 {
		t.Errorf("health %+v: want a B-frames problem and an empty ring", h)
	}
	o := clipOrder(t, "bf", time.Second, time.Second)
	c.order(o)
	r := c.waitClip("bf", 10*time.Second)
	if r.State != devices.ClipFailed {
		t.Errorf("clip %+v: want failed", r)
	}
	if _, err := os.Stat(o.Path); !os.IsNotExist(err) {
		t.Errorf("a file was left at %s (%v)", o.Path, err)
	}
}

// TestSPSChangeCutsTheClip: new parameter sets mid-clip (the camera
// changed resolution) end the clip there; the next clip has the new size.
func TestSPSChangeCutsTheClip(t *testing.T) {
	t.Parallel()
	small := loadAnnexB(t, encode(t, "small.h264", "320x180", x264...))
	cam := startCam(t, camsim.Options{Source: loopSource(t), RandomOrigin: true})
	c := serve(t, cam.URL(), nil)
	c.ready(time.Second + gop)
	o := clipOrder(t, "before", time.Second, 10*time.Second)
	c.order(o)
	time.Sleep(2 * time.Second)
	cam.SetSource(small)
	r := c.waitClip("before", 10*time.Second)
	if p := probe(t, r, o.Path); p.Width != 640 || r.Cut != "codec change" {
		t.Errorf("clip before the change: %dx%d, cut %q; want 640 wide, cut codec change", p.Width, p.Height, r.Cut)
	}
	c.waitHealth("the new size", 5*time.Second, func(h devices.CameraHealth) bool { return online(h) && h.Width == 320 })
	after := clipOrder(t, "after", 0, time.Second)
	c.order(after)
	if p := probe(t, c.waitClip("after", 10*time.Second), after.Path); p.Width != 320 {
		t.Errorf("clip after the change is %d wide, want 320", p.Width)
	}
}
