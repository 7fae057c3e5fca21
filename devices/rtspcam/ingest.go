package rtspcam

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/deepch/vdk/av"
	"github.com/deepch/vdk/format/rtsp/sdp"
	"github.com/deepch/vdk/format/rtspv2"
)

// eventKind says what an ingest event reports.
type eventKind int

const (
	evConnected    eventKind = iota + 1 // a session plays; codec is set
	evDisconnected                      // a dial failed or a session ended; err says why
	evFrame                             // a frame arrived
	evFault                             // a packet or frame was unusable; err says why
	evConfigFault                       // the camera cannot be used as configured
)

// event is what the ingest loop tells the serve loop.
type event struct {
	kind  eventKind
	frame *frame
	codec codec
	err   error
}

const minBackoff = 500 * time.Millisecond

// ingest dials the camera for ever, reads its RTP and sends events.
type ingest struct {
	cfg    Config
	log    *slog.Logger
	events chan<- event
	asm    assembler
}

// run dials, reads and redials with backoff until ctx is done.
func (in *ingest) run(ctx context.Context) {
	backoff := minBackoff
	for ctx.Err() == nil {
		delivered, err := in.session(ctx)
		if ctx.Err() != nil {
			return
		}
		if delivered {
			backoff = minBackoff
		}
		in.send(ctx, event{kind: evDisconnected, err: err})
		wait := backoff/2 + rand.N(backoff/2+1)
		backoff = min(backoff*2, in.cfg.MaxBackoff)
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
	}
}

// session runs one RTSP session: dial, then read until it fails.
// delivered says at least one frame came.
func (in *ingest) session(ctx context.Context) (delivered bool, err error) {
	url, err := in.cfg.dialURL()
	if err != nil {
		in.send(ctx, event{kind: evConfigFault, err: err})
		return false, err
	}
	client, err := dial(rtspv2.RTSPClientOptions{
		URL:              url,
		DialTimeout:      in.cfg.DialTimeout,
		ReadWriteTimeout: in.cfg.ReadTimeout,
		DisableAudio:     true,
		OutgoingProxy:    true, // raw RTP for our own depacketizer
	})
	if err != nil && strings.Contains(err.Error(), "401") {
		// Wrong credentials are a configuration fault, and cameras lock
		// out clients that keep trying: the caller backs off.
		err = fmt.Errorf("the camera refused the credentials: %w", err)
		in.send(ctx, event{kind: evConfigFault, err: err})
		return false, err
	}
	if err != nil {
		return false, fmt.Errorf("dial: %w", err)
	}
	defer client.Close()
	track, err := videoTrack(client.SDPRaw)
	if err != nil {
		in.send(ctx, event{kind: evConfigFault, err: err})
		return false, err
	}
	in.asm.connect(track.codec, track.vps, track.sps, track.pps)
	in.send(ctx, event{kind: evConnected, codec: track.codec})
	return in.read(ctx, client, track.payloadType)
}

// dial is rtspv2.Dial, with a panic in its SDP parsing (which runs in
// our goroutine) turned into an error.
func dial(o rtspv2.RTSPClientOptions) (c *rtspv2.RTSPClient, err error) {
	defer func() {
		if r := recover(); r != nil {
			c, err = nil, fmt.Errorf("rtsp: malformed reply: %v", r)
		}
	}()
	return rtspv2.Dial(o)
}

// read consumes one session: the raw RTP (ours), vdk's own packets
// (discarded, but they must be drained or vdk ends the stream) and its
// signals (read always, or its reader blocks).
func (in *ingest) read(ctx context.Context, c *rtspv2.RTSPClient, pt int) (delivered bool, err error) {
	channel := -1 // the interleaved channel of the video RTP, once seen
	stall := time.NewTicker(time.Second)
	defer stall.Stop()
	last := time.Now()
	for {
		select {
		case <-ctx.Done():
			return delivered, nil
		case sig := <-c.Signals:
			if sig == rtspv2.SignalStreamRTPStop {
				return delivered, errors.New("rtsp: stream stopped")
			}
		case <-c.OutgoingPacketQueue:
		case raw := <-c.OutgoingProxyQueue:
			if in.packet(ctx, *raw, pt, &channel) {
				delivered, last = true, time.Now()
			}
		case now := <-stall.C:
			if now.Sub(last) > in.cfg.ReadTimeout {
				return delivered, fmt.Errorf("rtsp: no video for %v", in.cfg.ReadTimeout)
			}
		}
	}
}

// packet handles one interleaved frame ($, channel, length, RTP) and
// reports whether it completed a video frame.
func (in *ingest) packet(ctx context.Context, raw []byte, pt int, channel *int) bool {
	if len(raw) < 4 || raw[1]%2 != 0 || *channel >= 0 && int(raw[1]) != *channel {
		return false // RTCP, or another track
	}
	p, err := parseRTP(raw[4:])
	if err != nil || p.payloadType != pt {
		return false
	}
	*channel = int(raw[1])
	f, err := in.asm.push(p, time.Now())
	if err != nil {
		kind := evFault
		if errors.Is(err, errBFrames) {
			kind = evConfigFault
		}
		in.send(ctx, event{kind: kind, err: err})
	}
	if f == nil {
		return false
	}
	in.send(ctx, event{kind: evFrame, frame: f})
	return true
}

func (in *ingest) send(ctx context.Context, e event) {
	select {
	case in.events <- e:
	case <-ctx.Done():
	}
}

// track is the video track of a session, from its SDP.
type track struct {
	codec         codec
	payloadType   int
	vps, sps, pps []byte
}

func videoTrack(sdpRaw []byte) (t track, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("rtsp: malformed SDP: %v", r)
		}
	}()
	_, medias := sdp.Parse(string(sdpRaw))
	for _, m := range medias {
		if m.AVType != rtspv2.VIDEO {
			continue
		}
		switch m.Type {
		case av.H264:
			t = track{codec: codecH264, payloadType: m.PayloadType}
			if len(m.SpropParameterSets) >= 2 {
				t.sps, t.pps = m.SpropParameterSets[0], m.SpropParameterSets[1]
			}
			return t, nil
		case av.H265:
			return track{codec: codecH265, payloadType: m.PayloadType, vps: m.SpropVPS, sps: m.SpropSPS, pps: m.SpropPPS}, nil
		}
	}
	return track{}, errors.New("the camera offers no H.264 or H.265 video track")
}
