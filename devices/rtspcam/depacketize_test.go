package rtspcam

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
	"time"
)

func rtpBytes(seq uint16, ts uint32, marker bool, payload []byte) []byte {
	b := []byte{0x80, 96, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}
	if marker {
		b[1] |= 0x80
	}
	binary.BigEndian.PutUint16(b[2:], seq)
	binary.BigEndian.PutUint32(b[4:], ts)
	return append(b, payload...)
}

func TestDepacketize(t *testing.T) {
	sps, pps, idr := []byte{0x67, 1, 2}, []byte{0x68, 3}, []byte{0x65, 4, 5, 6}
	stap := []byte{24, 0, 3, 0x67, 1, 2, 0, 2, 0x68, 3, 0, 4, 0x65, 4, 5, 6}
	tests := []struct {
		name     string
		codec    codec
		payloads [][]byte
		want     [][]byte
		wantErr  bool
	}{
		{"single", codecH264, [][]byte{idr}, [][]byte{idr}, false},
		{"STAP-A with SPS, PPS and IDR", codecH264, [][]byte{stap}, [][]byte{sps, pps, idr}, false},
		{"FU-A", codecH264, [][]byte{{0x7c, 0x85, 4, 5}, {0x7c, 0x45, 6}}, [][]byte{idr}, false},
		{"FU-A without start", codecH264, [][]byte{{0x7c, 0x45, 6}}, nil, true},
		{"FU-A cut before its header (vdk#114)", codecH264, [][]byte{{0x7c}}, nil, true},
		{"STAP-A with a size past the end", codecH264, [][]byte{{24, 0, 9, 0x67}}, nil, true},
		{"STAP-A with a zero size", codecH264, [][]byte{{24, 0, 0}}, nil, true},
		{"empty", codecH264, [][]byte{{}}, nil, true},
		{"H.265 AP", codecH265, [][]byte{{96, 1, 0, 3, 0x40, 1, 7, 0, 3, 0x2a, 1, 8}}, [][]byte{{0x40, 1, 7}, {0x2a, 1, 8}}, false},
		{"H.265 FU of a CRA", codecH265, [][]byte{{98, 1, 0x80 | 21, 9}, {98, 1, 0x40 | 21, 10}}, [][]byte{{0x2a, 1, 9, 10}}, false},
		{"H.265 FU cut short", codecH265, [][]byte{{98, 1}}, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := depacketizer{codec: tt.codec}
			var got [][]byte
			var gotErr error
			for _, p := range tt.payloads {
				nals, err := d.push(p)
				got = append(got, nals...)
				gotErr = errors.Join(gotErr, err)
			}
			if (gotErr != nil) != tt.wantErr {
				t.Errorf("err %v, want error %v", gotErr, tt.wantErr)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d NAL units %x, want %d %x", len(got), got, len(tt.want), tt.want)
			}
			for i := range got {
				if !bytes.Equal(got[i], tt.want[i]) {
					t.Errorf("NAL %d: got %x, want %x", i, got[i], tt.want[i])
				}
			}
		})
	}
}

// FuzzDepacketize: no RTP packet, however malformed, panics our side.
func FuzzDepacketize(f *testing.F) {
	f.Add(rtpBytes(1, 0, true, []byte{0x7c}), true)
	f.Add(rtpBytes(1, 0, true, []byte{24, 0, 3, 0x67, 1, 2}), true)
	f.Add(rtpBytes(1, 0, false, []byte{98, 1, 0x80 | 19, 9}), false)
	f.Add([]byte{0xb0, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 9}, false)
	f.Fuzz(func(t *testing.T, b []byte, h265 bool) {
		p, err := parseRTP(b)
		if err != nil {
			return
		}
		c := codecH264
		if h265 {
			c = codecH265
		}
		var a assembler
		a.connect(c, nil, nil, nil)
		now := time.Now()
		a.push(p, now)
		p.timestamp++
		p.seq++
		a.push(p, now)
	})
}

func TestVideoTrack(t *testing.T) {
	tests := []struct {
		name, sdp string
		want      codec
		wantErr   string
	}{
		{"h264 with sprop", "v=0\r\nm=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\na=fmtp:96 packetization-mode=1; sprop-parameter-sets=Z0IAHpWoLQSZ,aM48gA==\r\n", codecH264, ""},
		{"h265", "v=0\r\nm=video 0 RTP/AVP 97\r\na=rtpmap:97 H265/90000\r\n", codecH265, ""},
		{"audio only", "v=0\r\nm=audio 0 RTP/AVP 0\r\n", 0, "no H.264 or H.265"},
		// vdk's SDP parser indexes past a media line without a port: a
		// panic in our goroutine, turned into an error.
		{"media line cut short", "v=0\r\nm=video\r\n", 0, "malformed SDP"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := videoTrack([]byte(tt.sdp))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("err %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got.codec != tt.want {
				t.Errorf("got %v, %v; want %v", got.codec, err, tt.want)
			}
		})
	}
}
