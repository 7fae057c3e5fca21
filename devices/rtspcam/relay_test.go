package rtspcam

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"testing"
	"time"
)

// avcc frames NAL units with 4-byte lengths.
func avcc(nals ...[]byte) []byte {
	var b []byte
	for _, n := range nals {
		b = binary.BigEndian.AppendUint32(b, uint32(len(n)))
		b = append(b, n...)
	}
	return b
}

func testFrame(p *params, key bool, pts time.Duration) *frame {
	nal := []byte{0x41, 1, 2, 3}
	if key {
		nal = []byte{0x65, 4, 5, 6}
	}
	return &frame{data: avcc(nal), key: key, pts: pts, params: p}
}

func TestRelayFanOut(t *testing.T) {
	ctx := t.Context()
	p1, p2 := &params{codec: codecH264}, &params{codec: codecH264}
	r := newRelay()
	r.publish(testFrame(p1, false, 0)) // before any keyframe: kept for no one
	r.publish(testFrame(p1, true, 40*time.Millisecond))
	r.publish(testFrame(p1, false, 80*time.Millisecond))

	slow, p, err := r.join(ctx)
	if err != nil || p != p1 {
		t.Fatalf("join: %v, %v", p, err)
	}
	if got := len(slow.frames); got != 2 || !(<-slow.frames).key {
		t.Fatalf("a new viewer starts with %d frames, want the 2 from the keyframe on", got)
	}
	fast, _, _ := r.join(ctx)
	for i := range viewerQueue + 2 {
		r.publish(testFrame(p1, false, time.Duration(i+3)*40*time.Millisecond))
		for len(fast.frames) > 0 {
			<-fast.frames
		}
	}
	if err := context.Cause(slow.ctx); !errors.Is(err, errDropSlow) {
		t.Errorf("the viewer that never read: %v, want dropped as slow", err)
	}
	if fast.ctx.Err() != nil {
		t.Errorf("the viewer that read was dropped: %v", context.Cause(fast.ctx))
	}
	if s := r.stats(); s.Viewers != 1 || s.Served != 2 || s.Dropped != 1 {
		t.Errorf("stats %+v, want 1 viewer, 2 served, 1 dropped", *s)
	}

	r.publish(testFrame(p2, true, time.Hour)) // the camera's SPS changed
	if err := context.Cause(fast.ctx); !errors.Is(err, errDropCodec) {
		t.Errorf("after a codec change: %v, want the viewer ended for it", err)
	}
	if s := r.stats(); s.Viewers != 0 || s.Dropped != 1 {
		t.Errorf("stats %+v: a codec change is not a slow viewer", *s)
	}
	if _, p, _ := r.join(ctx); p != p2 {
		t.Errorf("a viewer after the change gets the old parameters")
	}
}

func TestPacketizerRoundTrip(t *testing.T) {
	big := bytes.Repeat([]byte{0xab}, 5000)
	tests := []struct {
		name   string
		codec  codec
		params *params
		nals   [][]byte
	}{
		{"h264 small", codecH264, &params{sps: []byte{0x67, 1}, pps: []byte{0x68, 2}}, [][]byte{{0x65, 1, 2}}},
		{"h264 fu-a", codecH264, &params{sps: []byte{0x67, 1}, pps: []byte{0x68, 2}}, [][]byte{append([]byte{0x65}, big...), {0x65, 9}}},
		{"h265 fu", codecH265, &params{vps: []byte{0x40, 1, 1}, sps: []byte{0x42, 1, 2}, pps: []byte{0x44, 1, 3}}, [][]byte{append([]byte{0x26, 1}, big...)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.params.codec = tt.codec
			pk := newPacketizer(tt.codec, 2)
			f := &frame{data: avcc(tt.nals...), key: true, pts: time.Second, params: tt.params}
			b := pk.frame(nil, f)
			want := append([][]byte{}, tt.nals...)
			for _, ps := range [][]byte{tt.params.pps, tt.params.sps, tt.params.vps} {
				if ps != nil {
					want = append([][]byte{ps}, want...)
				}
			}
			got, markers := depacketizeAll(t, tt.codec, b)
			if len(got) != len(want) {
				t.Fatalf("got %d NAL units, want %d", len(got), len(want))
			}
			for i := range want {
				if !bytes.Equal(got[i], want[i]) {
					t.Errorf("NAL %d: got %d bytes %x…, want %d bytes %x…", i, len(got[i]), got[i][:2], len(want[i]), want[i][:2])
				}
			}
			if markers != 1 {
				t.Errorf("%d packets carry the marker, want the last one only", markers)
			}
		})
	}
}

// depacketizeAll parses interleaved packets with the ingest side's own
// parser and depacketizer, checking channel, sizes, sequence and time.
func depacketizeAll(t *testing.T, c codec, b []byte) (nals [][]byte, markers int) {
	t.Helper()
	dep := depacketizer{codec: c}
	var seq uint16
	var ts uint32
	for i := 0; len(b) > 0; i++ {
		if len(b) < 4 || b[0] != '$' || b[1] != 2 {
			t.Fatalf("packet %d: bad interleaved header %x", i, b[:min(4, len(b))])
		}
		n := int(binary.BigEndian.Uint16(b[2:4]))
		if n-12 > maxRTPPayload || 4+n > len(b) {
			t.Fatalf("packet %d: %d bytes", i, n)
		}
		p, err := parseRTP(b[4 : 4+n])
		if err != nil {
			t.Fatal(err)
		}
		if i > 0 && (p.seq != seq+1 || p.timestamp != ts) {
			t.Errorf("packet %d: seq %d after %d, ts %d after %d", i, p.seq, seq, p.timestamp, ts)
		}
		seq, ts = p.seq, p.timestamp
		if p.marker {
			markers++
			if 4+n != len(b) {
				t.Errorf("packet %d has the marker but is not the last", i)
			}
		}
		got, err := dep.push(p.payload)
		if err != nil {
			t.Fatalf("packet %d: %v", i, err)
		}
		nals = append(nals, got...)
		b = b[4+n:]
	}
	return nals, markers
}

func TestInterleavedTransport(t *testing.T) {
	tests := []struct {
		header string
		ch     int
		ok     bool
	}{
		{"RTP/AVP/TCP;unicast;interleaved=0-1", 0, true},
		{"RTP/AVP/TCP;unicast;interleaved=4-5", 4, true},
		{"RTP/AVP;unicast;client_port=5000-5001,RTP/AVP/TCP;unicast;interleaved=2-3", 2, true},
		{"RTP/AVP/TCP;unicast", 0, true},
		{"RTP/AVP;unicast;client_port=5000-5001", 0, false},
		{"RTP/AVP/TCP;interleaved=x", 0, false},
		{"", 0, false},
	}
	for _, tt := range tests {
		ch, ok := interleaved(tt.header)
		if ch != tt.ch || ok != tt.ok {
			t.Errorf("interleaved(%q) = %d, %v, want %d, %v", tt.header, ch, ok, tt.ch, tt.ok)
		}
	}
}

func TestHEVCCodecs(t *testing.T) {
	// Main profile, main tier, level 3.1, progressive-source constraint.
	rec := []byte{1, 0x01, 0x60, 0, 0, 0, 0xb0, 0, 0, 0, 0, 0, 93}
	if got, want := hevcCodecs(rec), "hvc1.1.6.L93.B0"; got != want {
		t.Errorf("hevcCodecs = %q, want %q", got, want)
	}
	if got := hevcCodecs(rec[:5]); got != "" {
		t.Errorf("a short record gives %q, want none", got)
	}
}
