package rtspcam

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"strings"
	"time"
)

// Fragmented MP4 (ISO BMFF) for the browser's Media Source Extensions: an
// init segment (ftyp, moov with the decoder configuration), then one
// fragment (moof, mdat) per frame, so the picture is never held back
// waiting for a GOP. Written here rather than with vdk's format/mp4f,
// which marks every fragment's first sample as a keyframe, hard-codes the
// H.265 codec string and logs with the log package.

var errNoRecord = errors.New("fmp4: no decoder configuration record for this codec")

// serveMP4 answers GET /live.mp4: the init segment, then the viewer's frames.
func (s *relayServer) serveMP4(ctx context.Context, w *connWriter, req request, full bool) error {
	path, _, _ := strings.Cut(req.url, "?")
	if req.method != "GET" || path != "/live.mp4" {
		return w.write([]byte(httpStatus("404 Not Found")))
	}
	if full {
		return w.write([]byte(httpStatus("503 Service Unavailable")))
	}
	v, p, err := s.relay.join(ctx)
	if err != nil {
		return w.write([]byte(httpStatus("503 Service Unavailable")))
	}
	init, codecs, err := initSegment(p)
	if err != nil {
		s.relay.leave(v)
		w.write([]byte(httpStatus("500 Internal Server Error")))
		return err
	}
	head := "HTTP/1.1 200 OK\r\nContent-Type: video/mp4; codecs=\"" + codecs + "\"\r\n" +
		"Cache-Control: no-store\r\nConnection: close\r\n\r\n"
	if err := w.write(append([]byte(head), init...)); err != nil {
		s.relay.leave(v)
		return err
	}
	m := &fmp4Muxer{}
	return s.relay.stream(v, w, m.fragment)
}

func httpStatus(status string) string {
	return "HTTP/1.1 " + status + "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
}

// box appends an ISO BMFF box of type typ whose content fill appends.
func box(b []byte, typ string, fill func([]byte) []byte) []byte {
	start := len(b)
	b = append(b, 0, 0, 0, 0)
	b = append(b, typ...)
	if fill != nil {
		b = fill(b)
	}
	binary.BigEndian.PutUint32(b[start:], uint32(len(b)-start))
	return b
}

// fullBox is a box with a version and flags.
func fullBox(b []byte, typ string, version byte, flags uint32, fill func([]byte) []byte) []byte {
	return box(b, typ, func(b []byte) []byte {
		b = binary.BigEndian.AppendUint32(b, uint32(version)<<24|flags)
		if fill != nil {
			b = fill(b)
		}
		return b
	})
}

func u32s(b []byte, vs ...uint32) []byte {
	for _, v := range vs {
		b = binary.BigEndian.AppendUint32(b, v)
	}
	return b
}

func u16s(b []byte, vs ...uint16) []byte {
	for _, v := range vs {
		b = binary.BigEndian.AppendUint16(b, v)
	}
	return b
}

func zeros(b []byte, n int) []byte { return append(b, make([]byte, n)...) }

// unityMatrix is the identity transform of mvhd and tkhd.
var unityMatrix = []uint32{0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000}

// initSegment returns the init segment for p and its codecs parameter
// (RFC 6381), e.g. "avc1.4D401E".
func initSegment(p *params) ([]byte, string, error) {
	conf, ok := p.data.(interface{ AVCDecoderConfRecordBytes() []byte })
	if !ok {
		return nil, "", errNoRecord
	}
	record := conf.AVCDecoderConfRecordBytes()
	entry, confBox, codecs := "avc1", "avcC", ""
	if p.codec == codecH265 {
		entry, confBox = "hvc1", "hvcC"
		codecs = hevcCodecs(record)
	} else if len(p.sps) >= 4 {
		codecs = fmt.Sprintf("avc1.%02X%02X%02X", p.sps[1], p.sps[2], p.sps[3])
	}
	if codecs == "" {
		return nil, "", errNoRecord
	}
	w, h := uint32(p.data.Width()), uint32(p.data.Height())
	sampleEntry := func(b []byte) []byte {
		b = zeros(b, 6)
		b = u16s(b, 1, 0, 0) // data reference index, pre-defined, reserved
		b = zeros(b, 12)
		b = u16s(b, uint16(w), uint16(h))
		b = u32s(b, 0x480000, 0x480000, 0) // 72 dpi, reserved
		b = u16s(b, 1)                     // one frame per sample
		b = zeros(b, 32)                   // compressor name
		b = u16s(b, 0x18, 0xffff)          // depth, pre-defined
		return box(b, confBox, func(b []byte) []byte { return append(b, record...) })
	}
	stbl := func(b []byte) []byte {
		b = fullBox(b, "stsd", 0, 0, func(b []byte) []byte { return box(u32s(b, 1), entry, sampleEntry) })
		b = fullBox(b, "stts", 0, 0, func(b []byte) []byte { return u32s(b, 0) })
		b = fullBox(b, "stsc", 0, 0, func(b []byte) []byte { return u32s(b, 0) })
		b = fullBox(b, "stsz", 0, 0, func(b []byte) []byte { return u32s(b, 0, 0) })
		return fullBox(b, "stco", 0, 0, func(b []byte) []byte { return u32s(b, 0) })
	}
	minf := func(b []byte) []byte {
		b = fullBox(b, "vmhd", 0, 1, func(b []byte) []byte { return zeros(b, 8) })
		b = box(b, "dinf", func(b []byte) []byte {
			return fullBox(b, "dref", 0, 0, func(b []byte) []byte { return fullBox(u32s(b, 1), "url ", 0, 1, nil) })
		})
		return box(b, "stbl", stbl)
	}
	mdia := func(b []byte) []byte {
		b = fullBox(b, "mdhd", 0, 0, func(b []byte) []byte { return u16s(u32s(b, 0, 0, rtpClock, 0), 0x55c4, 0) })
		b = fullBox(b, "hdlr", 0, 0, func(b []byte) []byte { return append(zeros(append(u32s(b, 0), "vide"...), 12), "kioskd live\x00"...) })
		return box(b, "minf", minf)
	}
	trak := func(b []byte) []byte {
		b = fullBox(b, "tkhd", 0, 3, func(b []byte) []byte {
			b = u32s(b, 0, 0, 1, 0, 0) // times, track 1, reserved, duration
			b = zeros(b, 8)
			b = u16s(b, 0, 0, 0, 0) // layer, group, volume, reserved
			return u32s(u32s(b, unityMatrix...), w<<16, h<<16)
		})
		return box(b, "mdia", mdia)
	}
	out := box(nil, "ftyp", func(b []byte) []byte { return append(u32s(append(b, "isom"...), 0x200), "isomiso6mp41"...) })
	out = box(out, "moov", func(b []byte) []byte {
		b = fullBox(b, "mvhd", 0, 0, func(b []byte) []byte {
			b = u32s(b, 0, 0, 1000, 0, 0x10000) // times, timescale, duration, rate
			b = zeros(u16s(b, 0x100), 10)       // volume, reserved
			return u32s(zeros(u32s(b, unityMatrix...), 24), 2)
		})
		b = box(b, "trak", trak)
		return box(b, "mvex", func(b []byte) []byte {
			return fullBox(b, "trex", 0, 0, func(b []byte) []byte { return u32s(b, 1, 1, 0, 0, 0) })
		})
	})
	return out, codecs, nil
}

// hevcCodecs is the codecs parameter of an HEVC decoder configuration
// record (ISO/IEC 14496-15 annex E), e.g. "hvc1.1.6.L93.B0".
func hevcCodecs(rec []byte) string {
	if len(rec) < 13 {
		return ""
	}
	space := []string{"", "A", "B", "C"}[rec[1]>>6]
	tier := "L"
	if rec[1]&0x20 != 0 {
		tier = "H"
	}
	compat := bits.Reverse32(binary.BigEndian.Uint32(rec[2:6]))
	s := fmt.Sprintf("hvc1.%s%d.%X.%s%d", space, rec[1]&0x1f, compat, tier, rec[12])
	cons := rec[6:12]
	for len(cons) > 0 && cons[len(cons)-1] == 0 {
		cons = cons[:len(cons)-1]
	}
	for _, c := range cons {
		s += fmt.Sprintf(".%X", c)
	}
	return s
}

// fmp4Muxer writes one viewer's fragments. Times are from the viewer's
// first frame; a frame's duration is the interval before it (the next
// frame's time is not known yet, and waiting for it would add latency).
type fmp4Muxer struct {
	seq     uint32
	started bool
	base    time.Duration
	prev    time.Duration
	dur     time.Duration
}

// Sample flags: a sync sample depends on no other; a non-sync one does.
const (
	sampleSync    = 0x02000000
	sampleNonSync = 0x01010000
)

// fragment appends the moof and mdat of one frame to b.
func (m *fmp4Muxer) fragment(b []byte, f *frame) []byte {
	switch {
	case !m.started:
		m.started, m.base, m.dur = true, f.pts, 40*time.Millisecond
	case f.pts > m.prev:
		m.dur = f.pts - m.prev
	}
	m.prev = f.pts
	m.seq++
	flags := uint32(sampleNonSync)
	if f.key {
		flags = sampleSync
	}
	start, offsetAt := len(b), 0
	b = box(b, "moof", func(b []byte) []byte {
		b = fullBox(b, "mfhd", 0, 0, func(b []byte) []byte { return u32s(b, m.seq) })
		return box(b, "traf", func(b []byte) []byte {
			b = fullBox(b, "tfhd", 0, 0x020000, func(b []byte) []byte { return u32s(b, 1) }) // base is moof
			b = fullBox(b, "tfdt", 1, 0, func(b []byte) []byte {
				return binary.BigEndian.AppendUint64(b, uint64(ticks(f.pts-m.base)))
			})
			// data offset, and each sample's duration, size and flags
			return fullBox(b, "trun", 0, 0x000701, func(b []byte) []byte {
				b = u32s(b, 1)
				offsetAt = len(b)
				return u32s(b, 0, uint32(ticks(m.dur)), uint32(len(f.data)), flags)
			})
		})
	})
	binary.BigEndian.PutUint32(b[offsetAt:], uint32(len(b)-start+8))
	return box(b, "mdat", func(b []byte) []byte { return append(b, f.data...) })
}

// ticks is d in 90 kHz units.
func ticks(d time.Duration) int64 { return int64(d) * rtpClock / int64(time.Second) }
