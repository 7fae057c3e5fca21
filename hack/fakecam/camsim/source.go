// Package camsim runs simulated RTSP cameras on 127.0.0.1 for tests, the
// benchmark and the simulator: each loops a video source in real time over
// gortsplib's in-process server, with modes a test can switch at runtime
// (normal, stall, drop, slow, hostile) and variants for the camera faults
// devices/rtspcam works around (STAP-A, multi-slice, B-frames, H.265, SPS
// changes, odd RTP timestamp origins).
package camsim

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/deepch/vdk/codec/h264parser"
	"github.com/deepch/vdk/format/mp4"
)

// AU is one access unit (a picture) in decode order.
type AU struct {
	NALs [][]byte
	Key  bool
	// PTSOffset is how many frame intervals after its decode slot the
	// picture is shown: 0 without B-frames.
	PTSOffset int
}

// Source is a video the camera loops. The first AU must be a keyframe.
type Source struct {
	Codec         string // "h264" or "h265"
	VPS, SPS, PPS []byte
	AUs           []AU
	FrameDur      time.Duration
}

// LoadAnnexB reads a raw H.264 (.h264/.264) or H.265 (.h265/.hevc) stream
// played at fps frames per second.
func LoadAnnexB(path string, fps int) (*Source, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("camsim: %w", err)
	}
	src := &Source{Codec: "h264", FrameDur: time.Second / time.Duration(fps)}
	if strings.HasSuffix(path, ".h265") || strings.HasSuffix(path, ".hevc") {
		src.Codec = "h265"
	}
	var au *AU
	for _, nal := range splitAnnexB(raw) {
		t, vcl, first := src.nalInfo(nal)
		switch {
		case src.Codec == "h265" && t == 32:
			src.VPS = nal
		case src.Codec == "h265" && t == 33, src.Codec == "h264" && t == 7:
			src.SPS = nal
		case src.Codec == "h265" && t == 34, src.Codec == "h264" && t == 8:
			src.PPS = nal
		case vcl:
			if au == nil || first {
				src.AUs = append(src.AUs, AU{})
				au = &src.AUs[len(src.AUs)-1]
			}
			au.NALs = append(au.NALs, nal)
			au.Key = au.Key || src.Codec == "h264" && t == 5 || src.Codec == "h265" && t >= 16 && t <= 21
		}
	}
	return src, src.check()
}

// nalInfo returns a NAL's type, whether it is a slice, and whether it is
// the first slice of its picture (first_mb_in_slice = 0, or
// first_slice_segment_in_pic_flag).
func (s *Source) nalInfo(nal []byte) (t int, vcl, first bool) {
	if s.Codec == "h265" {
		if len(nal) < 3 {
			return -1, false, false
		}
		t = int(nal[0]>>1) & 0x3f
		return t, t <= 31, nal[2]&0x80 != 0
	}
	if len(nal) < 2 {
		return -1, false, false
	}
	t = int(nal[0]) & 0x1f
	return t, t >= 1 && t <= 5, nal[1]&0x80 != 0
}

func (s *Source) check() error {
	switch {
	case len(s.AUs) == 0:
		return errors.New("camsim: source has no pictures")
	case !s.AUs[0].Key:
		return errors.New("camsim: source does not start with a keyframe")
	case len(s.SPS) == 0 || len(s.PPS) == 0 || s.Codec == "h265" && len(s.VPS) == 0:
		return errors.New("camsim: source has no parameter sets")
	}
	return nil
}

// splitAnnexB splits a byte stream at its 3- and 4-byte start codes.
func splitAnnexB(b []byte) [][]byte {
	var nals [][]byte
	for {
		i := bytes.Index(b, []byte{0, 0, 1})
		if i < 0 {
			break
		}
		b = b[i+3:]
		j := bytes.Index(b, []byte{0, 0, 1})
		if j < 0 {
			j = len(b)
		}
		nal := bytes.TrimRight(b[:j], "\x00")
		if len(nal) > 0 {
			nals = append(nals, nal)
		}
		b = b[j:]
	}
	return nals
}

// LoadMP4 reads an H.264 MP4 file, keeping the presentation order of its
// pictures: the way to play a camera that sends B-frames.
func LoadMP4(path string) (*Source, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("camsim: %w", err)
	}
	defer f.Close()
	dmx := mp4.NewDemuxer(f)
	streams, err := dmx.Streams()
	if err != nil || len(streams) == 0 {
		return nil, fmt.Errorf("camsim: %s: no streams (%v)", path, err)
	}
	cd, ok := streams[0].(h264parser.CodecData)
	if !ok {
		return nil, fmt.Errorf("camsim: %s: first stream is not H.264", path)
	}
	src := &Source{Codec: "h264", SPS: cd.SPS(), PPS: cd.PPS()}
	var cts, dts []time.Duration
	for {
		pkt, err := dmx.ReadPacket()
		if err != nil {
			break
		}
		src.AUs = append(src.AUs, AU{Key: pkt.IsKeyFrame, NALs: splitAVCC(pkt.Data)})
		cts, dts = append(cts, pkt.CompositionTime), append(dts, pkt.Time)
	}
	if len(dts) < 2 || dts[1] <= dts[0] {
		return nil, fmt.Errorf("camsim: %s: too few frames", path)
	}
	src.FrameDur = dts[1] - dts[0]
	for i := range src.AUs {
		src.AUs[i].PTSOffset = int((cts[i] + src.FrameDur/2) / src.FrameDur)
	}
	return src, src.check()
}

func splitAVCC(b []byte) [][]byte {
	var nals [][]byte
	for len(b) >= 4 {
		n := int(b[0])<<24 | int(b[1])<<16 | int(b[2])<<8 | int(b[3])
		if n <= 0 || 4+n > len(b) {
			break
		}
		nals = append(nals, b[4:4+n])
		b = b[4+n:]
	}
	return nals
}
