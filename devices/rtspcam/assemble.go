package rtspcam

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/deepch/vdk/av"
	"github.com/deepch/vdk/codec/h264parser"
	"github.com/deepch/vdk/codec/h265parser"
)

// frame is one picture: all the VCL NAL units that share an RTP timestamp.
type frame struct {
	data   []byte        // the NAL units, each with a 4-byte length (AVCC)
	key    bool          // a random-access point
	at     time.Time     // when its first packet arrived (monotonic)
	pts    time.Duration // re-timed: continuous across reconnects and RTP wraps
	params *params       // the decoder configuration it needs
}

// params is a decoder configuration. Frames share one *params until the
// camera sends different parameter sets.
type params struct {
	codec         codec
	vps, sps, pps []byte
	data          av.VideoCodecData
}

func (p *params) same(c codec, vps, sps, pps []byte) bool {
	return p != nil && p.codec == c && bytes.Equal(p.vps, vps) && bytes.Equal(p.sps, sps) && bytes.Equal(p.pps, pps)
}

// newParams parses the parameter sets. vdk's SPS parser slices unchecked,
// so a panic on a malformed SPS is turned into an error here.
func newParams(c codec, vps, sps, pps []byte) (p *params, err error) {
	defer func() {
		if r := recover(); r != nil {
			p, err = nil, fmt.Errorf("malformed %s parameter sets: %v", c, r)
		}
	}()
	var data av.VideoCodecData
	switch c {
	case codecH264:
		data, err = h264parser.NewCodecDataFromSPSAndPPS(sps, pps)
	case codecH265:
		data, err = h265parser.NewCodecDataFromVPSAndSPSAndPPS(vps, sps, pps)
	default:
		err = errors.New("unknown codec")
	}
	if err != nil {
		return nil, fmt.Errorf("%s parameter sets: %w", c, err)
	}
	return &params{codec: c, vps: vps, sps: sps, pps: pps, data: data}, nil
}

// Faults the assembler reports.
var (
	errBFrames  = errors.New("the camera sends B-frames (timestamps go backwards); turn B-frames off")
	errNoParams = errors.New("no usable SPS/PPS from the camera yet")
	errLost     = errors.New("rtp packets lost; frame dropped")
)

// maxFrameStep is the longest RTP step taken as the true frame interval;
// longer steps (a jump, a pause) are timed by arrival instead.
const maxFrameStep = 5 * time.Second

// assembler turns RTP packets of one video stream into frames. It lives
// across reconnects so that pts stays continuous and the pre-roll ring can
// outlive a short drop. Not safe for concurrent use.
type assembler struct {
	dep           depacketizer
	vps, sps, pps []byte // the latest parameter sets seen
	cur           *params

	// The access unit in progress.
	auStarted, auKey, auBroken bool
	auTS                       uint32
	auAt                       time.Time
	auData                     []byte

	seq, prevTS       uint32 // seq is the last sequence number + 1
	haveSeq, havePrev bool
	prevAt            time.Time
	prevPTS           time.Duration
	tsKnown           bool // prevTS is from this connection
	reordered         bool // latched until the next connection or new params
}

// connect starts a new RTSP session of codec c with the parameter sets the
// SDP gave (any may be nil).
func (a *assembler) connect(c codec, vps, sps, pps []byte) {
	a.dep = depacketizer{codec: c}
	a.vps, a.sps, a.pps = vps, sps, pps
	a.dropAU()
	a.haveSeq, a.tsKnown, a.reordered = false, false, false
}

// push takes one RTP packet that arrived at at and returns the frame it
// completed, if any. An error says why a packet or frame was not usable;
// errBFrames means the stream cannot be recorded.
func (a *assembler) push(p rtpPacket, at time.Time) (*frame, error) {
	var lost bool
	if a.haveSeq && p.seq != uint16(a.seq) {
		lost = true
		a.dep.reset()
	}
	a.seq, a.haveSeq = uint32(p.seq)+1, true
	// A lost packet may have been the end of the unit in progress or the
	// start of the next one: both are dropped.
	a.auBroken = a.auBroken || lost
	var done *frame
	var err error
	if a.auStarted && p.timestamp != a.auTS {
		done, err = a.flush()
		a.auBroken = lost
	}
	nals, perr := a.dep.push(p.payload)
	if perr != nil {
		a.auBroken = true
	}
	for _, nal := range nals {
		a.takeNAL(nal, p.timestamp, at)
	}
	return done, errors.Join(err, perr)
}

func (a *assembler) takeNAL(nal []byte, ts uint32, at time.Time) {
	c := a.dep.codec
	t := c.nalType(nal)
	switch {
	case c == codecH264 && t == 7, c == codecH265 && t == 33:
		a.sps = bytes.Clone(nal)
	case c == codecH264 && t == 8, c == codecH265 && t == 34:
		a.pps = bytes.Clone(nal)
	case c == codecH265 && t == 32:
		a.vps = bytes.Clone(nal)
	case c.isVCL(t):
		if !a.auStarted {
			a.auStarted, a.auTS, a.auAt = true, ts, at
		}
		a.auKey = a.auKey || c.isKey(t)
		a.auData = binary.BigEndian.AppendUint32(a.auData, uint32(len(nal)))
		a.auData = append(a.auData, nal...)
	}
}

// flush ends the access unit in progress and returns it as a frame.
func (a *assembler) flush() (*frame, error) {
	defer a.dropAU()
	if a.auBroken {
		return nil, errLost
	}
	p, err := a.params()
	if err != nil {
		return nil, err
	}
	if a.havePrev && a.tsKnown && int32(a.auTS-a.prevTS) < 0 || a.reordered {
		a.reordered = true
		return nil, errBFrames
	}
	// A copy of exactly the frame's size: the ring holds it for seconds.
	f := &frame{data: bytes.Clone(a.auData), key: a.auKey, at: a.auAt, params: p}
	f.pts = a.retime()
	return f, nil
}

// retime gives the access unit in progress its pts: the RTP step when it
// is a plausible frame interval, else the arrival step.
func (a *assembler) retime() time.Duration {
	var pts time.Duration
	if a.havePrev {
		step := time.Duration(a.auTS-a.prevTS) * time.Second / 90000
		if !a.tsKnown || step <= 0 || step > maxFrameStep {
			step = max(a.auAt.Sub(a.prevAt), time.Millisecond)
		}
		pts = a.prevPTS + step
	}
	a.havePrev, a.tsKnown = true, true
	a.prevTS, a.prevAt, a.prevPTS = a.auTS, a.auAt, pts
	return pts
}

// params returns the decoder configuration for the latest parameter sets.
func (a *assembler) params() (*params, error) {
	c := a.dep.codec
	if a.cur.same(c, a.vps, a.sps, a.pps) {
		return a.cur, nil
	}
	if len(a.sps) == 0 || len(a.pps) == 0 || c == codecH265 && len(a.vps) == 0 {
		return nil, errNoParams
	}
	p, err := newParams(c, a.vps, a.sps, a.pps)
	if err != nil {
		return nil, err
	}
	a.cur, a.reordered = p, false
	return p, nil
}

func (a *assembler) dropAU() {
	a.auStarted, a.auKey, a.auBroken = false, false, false
	a.auData = a.auData[:0]
}
