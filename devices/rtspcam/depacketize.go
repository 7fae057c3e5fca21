package rtspcam

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// codec is the video codec of a stream.
type codec int

const (
	codecH264 codec = iota + 1
	codecH265
)

func (c codec) String() string {
	switch c {
	case codecH264:
		return "h264"
	case codecH265:
		return "h265"
	}
	return "unknown"
}

// nalType returns the NAL unit type of nal (which must not be empty).
func (c codec) nalType(nal []byte) int {
	if c == codecH265 {
		return int(nal[0]>>1) & 0x3f
	}
	return int(nal[0]) & 0x1f
}

// isVCL reports whether a NAL type carries picture data.
func (c codec) isVCL(t int) bool {
	if c == codecH265 {
		return t <= 31
	}
	return t >= 1 && t <= 5
}

// isKey reports whether a NAL type starts a random-access point. vdk
// v0.0.27 only knows H.265 type 19; 16-21 (BLA, IDR, CRA) all are.
func (c codec) isKey(t int) bool {
	if c == codecH265 {
		return t >= 16 && t <= 21
	}
	return t == 5
}

// rtpPacket is the part of an RTP packet the depacketizer needs.
type rtpPacket struct {
	payloadType int
	marker      bool
	seq         uint16
	timestamp   uint32
	payload     []byte
}

var errShortRTP = errors.New("rtp: packet too short")

// parseRTP parses an RTP packet (RFC 3550) without trusting any length in it.
func parseRTP(b []byte) (rtpPacket, error) {
	if len(b) < 12 {
		return rtpPacket{}, errShortRTP
	}
	if b[0]>>6 != 2 {
		return rtpPacket{}, fmt.Errorf("rtp: version %d", b[0]>>6)
	}
	p := rtpPacket{
		payloadType: int(b[1] & 0x7f),
		marker:      b[1]&0x80 != 0,
		seq:         binary.BigEndian.Uint16(b[2:4]),
		timestamp:   binary.BigEndian.Uint32(b[4:8]),
	}
	end := len(b)
	if b[0]&0x20 != 0 { // padding: the last byte counts it
		end -= int(b[end-1])
	}
	off := 12 + 4*int(b[0]&0x0f)
	if b[0]&0x10 != 0 { // header extension
		if off+4 > end {
			return rtpPacket{}, errShortRTP
		}
		off += 4 + 4*int(binary.BigEndian.Uint16(b[off+2:off+4]))
	}
	if off >= end {
		return rtpPacket{}, errShortRTP
	}
	p.payload = b[off:end]
	return p, nil
}

// depacketizer turns RTP payloads into NAL units (RFC 6184 for H.264,
// RFC 7798 for H.265): single NAL units, aggregation packets (STAP-A, AP)
// and fragmentation units (FU-A, FU). It never panics on bad input: a bad
// payload is an error and drops any fragment in progress.
type depacketizer struct {
	codec codec
	frag  []byte // the NAL unit being reassembled from fragments, or nil
}

// push returns the complete NAL units in one RTP payload.
func (d *depacketizer) push(payload []byte) ([][]byte, error) {
	if len(payload) < 1 || d.codec == codecH265 && len(payload) < 2 {
		d.frag = nil
		return nil, errShortRTP
	}
	t := d.codec.nalType(payload)
	switch {
	case d.codec == codecH264 && t == 24:
		return d.aggregate(payload[1:])
	case d.codec == codecH265 && t == 48:
		return d.aggregate(payload[2:])
	case d.codec == codecH264 && t == 28, d.codec == codecH265 && t == 49:
		return d.fragment(payload)
	case d.codec == codecH264 && t >= 25, d.codec == codecH265 && t >= 50:
		d.frag = nil
		return nil, fmt.Errorf("rtp: unsupported %s payload type %d", d.codec, t)
	}
	d.frag = nil
	return [][]byte{payload}, nil
}

// aggregate splits an aggregation packet's units: 16-bit size, then NAL.
func (d *depacketizer) aggregate(b []byte) ([][]byte, error) {
	d.frag = nil
	var nals [][]byte
	for len(b) > 0 {
		if len(b) < 2 {
			return nil, errors.New("rtp: aggregation unit without size")
		}
		n := int(binary.BigEndian.Uint16(b))
		if n == 0 || 2+n > len(b) {
			return nil, fmt.Errorf("rtp: aggregation unit of %d bytes in %d", n, len(b)-2)
		}
		nals = append(nals, b[2:2+n])
		b = b[2+n:]
	}
	return nals, nil
}

// fragment handles FU-A (H.264) and FU (H.265) packets.
func (d *depacketizer) fragment(p []byte) ([][]byte, error) {
	head := 1 // bytes of payload header before the FU header
	if d.codec == codecH265 {
		head = 2
	}
	if len(p) < head+2 {
		d.frag = nil
		return nil, errShortRTP
	}
	fu := p[head]
	start, end := fu&0x80 != 0, fu&0x40 != 0
	if start {
		d.frag = d.frag[:0]
		if d.codec == codecH265 {
			d.frag = append(d.frag, p[0]&0x81|(fu&0x3f)<<1, p[1])
		} else {
			d.frag = append(d.frag, p[0]&0xe0|fu&0x1f)
		}
	} else if len(d.frag) == 0 {
		return nil, errors.New("rtp: fragment without its start")
	}
	d.frag = append(d.frag, p[head+1:]...)
	if !end {
		return nil, nil
	}
	nal := d.frag
	d.frag = nil // the next start allocates anew: nal is handed out
	return [][]byte{nal}, nil
}

// reset drops a fragment in progress (after a lost packet).
func (d *depacketizer) reset() { d.frag = nil }
