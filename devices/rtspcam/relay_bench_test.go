package rtspcam

import (
	"bytes"
	"testing"
	"time"
)

// The per-viewer cost of the live relay: one frame of a 4 Mbit/s, 25 fps
// camera (20 kB) packetized as RTP, or wrapped as an fMP4 fragment, and
// one publish to 8 viewers that keep up.
//
//	go test ./devices/rtspcam -run '^$' -bench Relay -count 5

func benchFrame() *frame {
	p := &params{codec: codecH264, sps: []byte{0x67, 0x64, 0, 0x28}, pps: []byte{0x68, 0xee}}
	return &frame{data: avcc(append([]byte{0x41}, bytes.Repeat([]byte{0x5a}, 20<<10)...)), pts: time.Second, params: p}
}

func BenchmarkRelayRTPFrame(b *testing.B) {
	f, pk := benchFrame(), newPacketizer(codecH264, 0)
	var buf []byte
	b.SetBytes(int64(len(f.data)))
	for b.Loop() {
		buf = pk.frame(buf[:0], f)
	}
}

func BenchmarkRelayFMP4Frame(b *testing.B) {
	f, m := benchFrame(), &fmp4Muxer{}
	var buf []byte
	b.SetBytes(int64(len(f.data)))
	for b.Loop() {
		buf = m.fragment(buf[:0], f)
	}
}

func BenchmarkRelayPublish8Viewers(b *testing.B) {
	f := benchFrame()
	key := *f
	key.key = true
	r := newRelay()
	r.publish(&key)
	var viewers []*viewer
	for range 8 {
		v, _, err := r.join(b.Context())
		if err != nil {
			b.Fatal(err)
		}
		viewers = append(viewers, v)
	}
	for b.Loop() {
		r.publish(f)
		for _, v := range viewers {
			<-v.frames
		}
		if len(r.gop) > 500 {
			r.publish(&key)
			for _, v := range viewers {
				<-v.frames
			}
		}
	}
}
