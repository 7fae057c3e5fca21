package camsim

import (
	"github.com/pion/rtp"
)

// maxPayload keeps packets under a typical Ethernet MTU.
const maxPayload = 1400

// packetizer turns access units into RTP packets (RFC 6184, RFC 7798).
type packetizer struct {
	h265  bool
	stapA bool // aggregate small NAL units (STAP-A / AP), as many cameras do
	seq   uint16
	ssrc  uint32
}

// packets returns the RTP packets of one access unit with timestamp ts;
// the last one carries the marker bit.
func (p *packetizer) packets(nals [][]byte, ts uint32) []*rtp.Packet {
	var payloads [][]byte
	for i := 0; i < len(nals); {
		n := 1
		if p.stapA {
			n = p.aggregatable(nals[i:])
		}
		switch {
		case n > 1:
			payloads = append(payloads, p.aggregate(nals[i:i+n]))
		case len(nals[i]) <= maxPayload:
			payloads = append(payloads, nals[i])
		default:
			payloads = append(payloads, p.fragment(nals[i])...)
		}
		i += n
	}
	pkts := make([]*rtp.Packet, len(payloads))
	for i, pl := range payloads {
		pkts[i] = &rtp.Packet{
			Header: rtp.Header{
				Version: 2, PayloadType: 96, SequenceNumber: p.seq, Timestamp: ts,
				SSRC: p.ssrc, Marker: i == len(payloads)-1,
			},
			Payload: pl,
		}
		p.seq++
	}
	return pkts
}

// aggregatable counts how many of the leading NAL units fit one packet.
func (p *packetizer) aggregatable(nals [][]byte) int {
	size := 2 // H.265 AP header; H.264's STAP-A header is 1
	n := 0
	for _, nal := range nals {
		if size+2+len(nal) > maxPayload {
			break
		}
		size += 2 + len(nal)
		n++
	}
	return n
}

func (p *packetizer) aggregate(nals [][]byte) []byte {
	var b []byte
	if p.h265 {
		b = []byte{48 << 1, 1}
	} else {
		var nri byte
		for _, nal := range nals {
			nri = max(nri, nal[0]&0x60)
		}
		b = []byte{nri | 24}
	}
	for _, nal := range nals {
		b = append(b, byte(len(nal)>>8), byte(len(nal)))
		b = append(b, nal...)
	}
	return b
}

func (p *packetizer) fragment(nal []byte) [][]byte {
	var head []byte
	var typ byte
	var body []byte
	if p.h265 {
		typ = nal[0] >> 1 & 0x3f
		head = []byte{nal[0]&0x81 | 49<<1, nal[1]}
		body = nal[2:]
	} else {
		typ = nal[0] & 0x1f
		head = []byte{nal[0]&0xe0 | 28}
		body = nal[1:]
	}
	room := maxPayload - len(head) - 1
	var out [][]byte
	for start := true; len(body) > 0; start = false {
		n := min(room, len(body))
		fu := typ
		if start {
			fu |= 0x80
		}
		if n == len(body) {
			fu |= 0x40
		}
		pl := append(append(append([]byte{}, head...), fu), body[:n]...)
		out = append(out, pl)
		body = body[n:]
	}
	return out
}

// hostilePacket is a fragmentation unit cut off before its FU header:
// vdk v0.0.27's RTPDemuxer reads the header past the end of the packet and
// panics in its own goroutine (deepch/vdk#114).
func (p *packetizer) hostilePacket(ts uint32) *rtp.Packet {
	payload := []byte{0x7c} // FU-A indicator only
	if p.h265 {
		payload = []byte{49 << 1, 1} // FU payload header only
	}
	pkt := &rtp.Packet{
		Header:  rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: p.seq, Timestamp: ts, SSRC: p.ssrc},
		Payload: payload,
	}
	p.seq++
	return pkt
}
