package rtspcam_test

import (
	"math"
	"testing"
	"time"

	"kioskd/devices"
	"kioskd/hack/fakecam/camsim"
)

const (
	gop = 2 * time.Second // of the committed loop clip
	// oneGOP is the tolerance "within one GOP": the GOP, plus delivery
	// jitter on a loaded test machine.
	oneGOP = gop + 300*time.Millisecond
)

// TestClipContainsPress: the clip starts on a keyframe at or before
// press − pre-roll and lasts pre+post within one GOP.
func TestClipContainsPress(t *testing.T) {
	t.Parallel()
	camsim.RequireFFmpeg(t)
	cam := startCam(t, camsim.Options{Source: loopSource(t), RandomOrigin: true})
	c := serve(t, cam.URL(), nil)
	pre, post := 3*time.Second, 2*time.Second
	h := c.ready(pre + gop)
	if h.Codec != "h264" || h.Width != 640 || h.Height != 360 || h.GopMs < 1900 || h.GopMs > 2100 {
		t.Errorf("health %+v: want h264 640x360, gop 2000 ms", h)
	}
	o := clipOrder(t, "press", pre, post)
	o.AgeMs = 300
	c.order(o)
	r := c.waitClip("press", post+10*time.Second)
	p := probe(t, r, o.Path)
	if r.KeyframeBeforePressMs < pre.Milliseconds() || r.KeyframeBeforePressMs > (pre+oneGOP).Milliseconds() {
		t.Errorf("keyframe %d ms before the press, want %v..%v", r.KeyframeBeforePressMs, pre, pre+gop)
	}
	t.Logf("report %+v; ffprobe %.3f s, %d pictures", r, p.Duration(), len(p.Packets))
	want := (pre + post).Seconds()
	if got := p.Duration(); got < want-0.1 || got > want+oneGOP.Seconds() {
		t.Errorf("clip lasts %.2f s, want %.1f s within one GOP", got, want)
	}
	if got := float64(r.DurationMs) / 1000; math.Abs(got-p.Duration()) > 0.05 {
		t.Errorf("report says %.3f s, ffprobe %.3f s", got, p.Duration())
	}
	if r.Cut != "" || r.SHA256 == "" || !r.End.After(r.Start) {
		t.Errorf("report %+v: want no cut, a sha256, end after start", r)
	}
}

// TestClipSurvivesDrop: a camera lost mid-clip still gives a ready clip.
func TestClipSurvivesDrop(t *testing.T) {
	t.Parallel()
	camsim.RequireFFmpeg(t)
	cam := startCam(t, camsim.Options{Source: loopSource(t)})
	c := serve(t, cam.URL(), nil)
	c.ready(time.Second)
	o := clipOrder(t, "drop", time.Second, 20*time.Second)
	c.order(o)
	time.Sleep(2 * time.Second)
	cam.SetMode(camsim.Drop)
	r := c.waitClip("drop", 10*time.Second)
	probe(t, r, o.Path)
	if r.Cut != "camera lost" {
		t.Errorf("cut %q, want camera lost", r.Cut)
	}
	c.waitHealth("offline", 5*time.Second, func(h devices.CameraHealth) bool { return h.State == devices.CameraOffline && !h.Connected })
	cam.SetMode(camsim.Normal)
	h := c.waitHealth("online again", 10*time.Second, online)
	if h.Reconnects < 1 {
		t.Errorf("reconnects %d, want ≥ 1", h.Reconnects)
	}
}

// TestOverlappingClips: a second press while the first clip records gets
// its own clip; extend stops at the cap; finish ends a clip at once.
func TestOverlappingClips(t *testing.T) {
	t.Parallel()
	camsim.RequireFFmpeg(t)
	cam := startCam(t, camsim.Options{Source: loopSource(t), RandomOrigin: true})
	c := serve(t, cam.URL(), nil)
	c.ready(time.Second + gop)
	first := clipOrder(t, "first", time.Second, 2*time.Second)
	first.CapMs = 4000
	c.order(first)
	time.Sleep(time.Second)
	second := clipOrder(t, "second", time.Second, 20*time.Second)
	c.order(second)
	c.order(devices.ClipOrder{Op: devices.OpExtend, ID: "first", ByMs: 5000}) // 2 + 5 s > the 4 s cap
	r1 := c.waitClip("first", 10*time.Second)
	p1 := probe(t, r1, first.Path)
	if r1.Cut != "cap" || p1.Duration() < 4.9 || p1.Duration() > 5+oneGOP.Seconds() {
		t.Errorf("first clip: cut %q, %.2f s; want cut cap, 1 s + 4 s within a GOP", r1.Cut, p1.Duration())
	}
	c.order(devices.ClipOrder{Op: devices.OpFinish, ID: "second"})
	r2 := c.waitClip("second", 5*time.Second)
	probe(t, r2, second.Path)
	if r2.Cut != "finish" || r2.DurationMs > 20000 {
		t.Errorf("second clip: cut %q, %d ms; want cut finish, short", r2.Cut, r2.DurationMs)
	}
	if r2.Start.Before(r1.Start) || r2.SHA256 == r1.SHA256 {
		t.Errorf("second clip starts %v, first %v: want two clips, the second later", r2.Start, r1.Start)
	}
}

// TestShutdownFinishesClips: when the parent goes (stdin ends) a clip in
// progress is finished and reported before Serve returns.
func TestShutdownFinishesClips(t *testing.T) {
	t.Parallel()
	camsim.RequireFFmpeg(t)
	cam := startCam(t, camsim.Options{Source: loopSource(t)})
	c := serve(t, cam.URL(), nil)
	c.ready(time.Second + gop)
	o := clipOrder(t, "last", time.Second, 30*time.Second)
	c.order(o)
	time.Sleep(time.Second)
	c.in.Close()
	r := c.waitClip("last", 5*time.Second)
	probe(t, r, o.Path)
	if r.Cut != "shutdown" {
		t.Errorf("cut %q, want shutdown", r.Cut)
	}
}
