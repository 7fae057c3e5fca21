package rtspcam

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// RTP for relay viewers: frames packetized per RFC 6184 (H.264: single NAL
// unit packets and FU-A) or RFC 7798 (H.265: single NAL unit packets and
// FU), each packet framed for RTSP interleaved TCP ($, channel, length).

const (
	relayPayloadType = 96
	// maxRTPPayload keeps packets under a typical Ethernet MTU, so that a
	// client relaying them over UDP need not re-fragment.
	maxRTPPayload = 1400
	rtpClock      = 90000
)

// packetizer turns one viewer's frames into interleaved RTP packets. Its
// sequence numbers, SSRC and timestamp origin are random, as RFC 3550 asks.
type packetizer struct {
	codec   codec
	channel byte
	seq     uint16
	ssrc    uint32
	origin  uint32
	base    time.Duration // pts of the viewer's first frame
	started bool
}

func newPacketizer(c codec, channel byte) *packetizer {
	return &packetizer{codec: c, channel: channel, seq: uint16(rand.Uint32()), ssrc: rand.Uint32(), origin: rand.Uint32()}
}

// timestamp is the RTP time of pts.
func (p *packetizer) timestamp(pts time.Duration) uint32 {
	if !p.started {
		p.base, p.started = pts, true
	}
	return p.origin + uint32(ticks(pts-p.base))
}

// frame appends the interleaved packets of f to b: the parameter sets
// first if f is a keyframe (in band, so a decoder can start or follow a
// change), then its NAL units; the last packet carries the marker.
func (p *packetizer) frame(b []byte, f *frame) []byte {
	ts := p.timestamp(f.pts)
	var nals [][]byte
	if f.key {
		for _, ps := range [][]byte{f.params.vps, f.params.sps, f.params.pps} {
			if len(ps) > 0 {
				nals = append(nals, ps)
			}
		}
	}
	nals = append(nals, splitAVCC(f.data)...)
	for i, nal := range nals {
		b = p.nal(b, nal, ts, i == len(nals)-1)
	}
	return b
}

// nal appends one NAL unit as one packet, or as fragments if it is large.
func (p *packetizer) nal(b, nal []byte, ts uint32, last bool) []byte {
	if len(nal) <= maxRTPPayload {
		return p.packet(b, ts, last, nal)
	}
	head := 1 // NAL header bytes, replaced by the FU indicator and header
	if p.codec == codecH265 {
		head = 2
	}
	ind, typ := p.fuIndicator(nal)
	body := nal[head:]
	for start := true; len(body) > 0; start = false {
		n := min(len(body), maxRTPPayload-len(ind)-1)
		fu := typ
		if start {
			fu |= 0x80
		}
		if n == len(body) {
			fu |= 0x40
		}
		b = p.packet(b, ts, last && n == len(body), ind, []byte{fu}, body[:n])
		body = body[n:]
	}
	return b
}

// fuIndicator returns the payload header of a fragmentation unit of nal
// and the NAL type that goes into each FU header.
func (p *packetizer) fuIndicator(nal []byte) ([]byte, byte) {
	if p.codec == codecH265 {
		return []byte{nal[0]&0x81 | 49<<1, nal[1]}, nal[0] >> 1 & 0x3f
	}
	return []byte{nal[0]&0xe0 | 28}, nal[0] & 0x1f
}

// packet appends one interleaved RTP packet whose payload is parts.
func (p *packetizer) packet(b []byte, ts uint32, marker bool, parts ...[]byte) []byte {
	size := 12
	for _, part := range parts {
		size += len(part)
	}
	b = append(b, '$', p.channel, byte(size>>8), byte(size))
	pt := byte(relayPayloadType)
	if marker {
		pt |= 0x80
	}
	b = append(b, 0x80, pt)
	b = binary.BigEndian.AppendUint16(b, p.seq)
	b = binary.BigEndian.AppendUint32(b, ts)
	b = binary.BigEndian.AppendUint32(b, p.ssrc)
	for _, part := range parts {
		b = append(b, part...)
	}
	p.seq++
	return b
}

// splitAVCC splits 4-byte length-prefixed NAL units. The frames come from
// our own assembler, but a bad length ends the split rather than a panic.
func splitAVCC(data []byte) [][]byte {
	var nals [][]byte
	for len(data) >= 4 {
		n := int(binary.BigEndian.Uint32(data))
		if n == 0 || n > len(data)-4 {
			break
		}
		nals = append(nals, data[4:4+n])
		data = data[4+n:]
	}
	return nals
}

// sessionSDP describes the one video track a relay viewer gets.
func sessionSDP(camera string, p *params) string {
	var fmtp string
	b64 := base64.StdEncoding.EncodeToString
	switch p.codec {
	case codecH264:
		fmtp = "packetization-mode=1;sprop-parameter-sets=" + b64(p.sps) + "," + b64(p.pps)
		if len(p.sps) >= 4 {
			fmtp += ";profile-level-id=" + strings.ToUpper(hex.EncodeToString(p.sps[1:4]))
		}
	case codecH265:
		fmtp = "sprop-vps=" + b64(p.vps) + ";sprop-sps=" + b64(p.sps) + ";sprop-pps=" + b64(p.pps)
	}
	lines := []string{
		"v=0",
		fmt.Sprintf("o=- %d 1 IN IP4 127.0.0.1", rand.Uint32()),
		"s=kioskd live " + camera,
		"c=IN IP4 0.0.0.0",
		"t=0 0",
		fmt.Sprintf("m=video 0 RTP/AVP %d", relayPayloadType),
		fmt.Sprintf("a=rtpmap:%d %s/%d", relayPayloadType, strings.ToUpper(p.codec.String()), rtpClock),
		fmt.Sprintf("a=fmtp:%d %s", relayPayloadType, fmtp),
		"a=control:trackID=0",
	}
	return strings.Join(lines, "\r\n") + "\r\n"
}
