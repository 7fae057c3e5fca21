package rtspcam

import (
	"errors"
	"testing"
	"time"
)

// A real 64x64 baseline SPS and PPS, so that vdk can parse them.
var (
	testSPS = []byte{0x67, 0x42, 0xc0, 0x0a, 0xd9, 0x07, 0x3c, 0x04, 0x40, 0x00, 0x00, 0x03, 0x00, 0x40, 0x00, 0x00, 0x0c, 0x83, 0xc4, 0x89, 0x92}
	testPPS = []byte{0x68, 0xcb, 0x83, 0xcb, 0x20}
)

type pkt struct {
	ts      uint32
	payload []byte
}

// feed pushes packets 40 ms apart by arrival and returns the frames.
func feed(t *testing.T, a *assembler, pkts []pkt) ([]*frame, error) {
	t.Helper()
	var frames []*frame
	var errs error
	at := time.Now()
	for i, p := range pkts {
		f, err := a.push(rtpPacket{seq: uint16(i), timestamp: p.ts, payload: p.payload}, at.Add(time.Duration(i)*40*time.Millisecond))
		errs = errors.Join(errs, err)
		if f != nil {
			frames = append(frames, f)
		}
	}
	return frames, errs
}

func newTestAssembler() *assembler {
	a := &assembler{}
	a.connect(codecH264, nil, testSPS, testPPS)
	return a
}

func TestAssembleMergesSlicesOfOneTimestamp(t *testing.T) {
	a := newTestAssembler()
	frames, err := feed(t, a, []pkt{
		{100, []byte{0x65, 0x88, 1}}, {100, []byte{0x65, 0x08, 2}}, // IDR, two slices
		{3700, []byte{0x41, 0x9a, 3}}, {3700, []byte{0x41, 0x1a, 4}},
		{7300, []byte{0x41, 0x9a, 5}}, // flushes the second frame
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(frames) != 2 || !frames[0].key || frames[1].key {
		t.Fatalf("got %d frames, want a keyframe then a frame", len(frames))
	}
	if got, want := len(frames[0].data), 2*(4+3); got != want {
		t.Errorf("keyframe has %d bytes, want both slices: %d", got, want)
	}
	if got, want := frames[1].pts, 40*time.Millisecond; got != want {
		t.Errorf("second frame at %v, want %v", got, want)
	}
}

func TestAssembleRetimesAcrossTheWrap(t *testing.T) {
	a := newTestAssembler()
	start := uint32(1<<32 - 3600)
	frames, _ := feed(t, a, []pkt{
		{start, []byte{0x65, 0x88}}, {start + 3600, []byte{0x41, 0x9a}}, {start + 7200, []byte{0x41, 0x9a}}, {start + 10800, []byte{0x41, 0x9a}},
	})
	for i, f := range frames {
		if want := time.Duration(i) * 40 * time.Millisecond; f.pts != want {
			t.Errorf("frame %d at %v, want %v", i, f.pts, want)
		}
	}
}

func TestAssembleDetectsBFrames(t *testing.T) {
	a := newTestAssembler()
	_, err := feed(t, a, []pkt{
		{0, []byte{0x65, 0x88}}, {7200, []byte{0x41, 0x9a}}, {3600, []byte{0x01, 0x9e}}, {14400, []byte{0x41, 0x9a}},
	})
	if !errors.Is(err, errBFrames) {
		t.Errorf("err %v, want %v", err, errBFrames)
	}
}

func TestAssembleNewParamsAreANewConfig(t *testing.T) {
	a := newTestAssembler()
	sps2 := append([]byte{}, testSPS...)
	sps2[3] = 0x0b // another level
	frames, err := feed(t, a, []pkt{
		{0, []byte{0x65, 0x88}}, {3600, sps2}, {3600, []byte{0x65, 0x88}}, {7200, []byte{0x41, 0x9a}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(frames) != 2 || frames[0].params == frames[1].params {
		t.Errorf("frames after a new SPS share the old config")
	}
}

func TestRingKeepsWholeGOPs(t *testing.T) {
	p := &params{}
	r := ring{keep: 3 * time.Second, maxBytes: 1 << 20}
	t0 := time.Now()
	for i := range 250 { // 10 s at 25 fps, a keyframe every 2 s
		r.add(&frame{key: i%50 == 0, at: t0.Add(time.Duration(i) * 40 * time.Millisecond), data: make([]byte, 100), params: p})
	}
	newest := r.newest().at
	if start := r.gops[0].start(); !start.key || newest.Sub(start.at) < 3*time.Second || newest.Sub(start.at) > 5*time.Second {
		t.Errorf("ring starts %v before the newest frame, want 3..5 s on a keyframe", newest.Sub(start.at))
	}
	frames := r.since(newest.Add(-3 * time.Second))
	if !frames[0].key || newest.Sub(frames[0].at) < 3*time.Second {
		t.Errorf("since(−3 s) starts %v back, key %v", newest.Sub(frames[0].at), frames[0].key)
	}
	var held int64
	for _, g := range r.gops {
		held += int64(len(g.frames)) * 100
	}
	if r.bytes != held {
		t.Errorf("ring accounts %d bytes, holds %d", r.bytes, held)
	}
	r.maxBytes = 6000 // less than one GOP and a half
	r.add(&frame{at: newest.Add(40 * time.Millisecond), data: make([]byte, 100), params: p})
	if r.bytes > r.maxBytes {
		t.Errorf("ring holds %d bytes, max %d", r.bytes, r.maxBytes)
	}
}
