package camsim

import (
	"context"
	"time"

	"github.com/bluenviron/gortsplib/v4"
	"github.com/bluenviron/gortsplib/v4/pkg/auth"
	"github.com/bluenviron/gortsplib/v4/pkg/base"
)

// play sends the source's frames on a real-time schedule until ctx ends.
// RTP timestamps follow the schedule (90 kHz from Origin), so they stay
// true to time through stalls and slow mode, as a real camera's do.
func (c *Camera) play(ctx context.Context) {
	defer close(c.done)
	src := c.opts.Source
	pk := &packetizer{h265: src.Codec == "h265", stapA: c.opts.STAPA, ssrc: 0x4b494f53}
	start := time.Now()
	due := start
	lastHostile := time.Time{}
	timer := time.NewTimer(0)
	defer timer.Stop()
	for i := 0; ; {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		mode, next := c.take()
		if next != nil {
			src, i = next, 0
		}
		ts := c.opts.Origin + uint32(due.Sub(start)*90000/time.Second)
		step := src.FrameDur
		switch mode {
		case Normal, Slow, Hostile:
			c.sendAU(pk, src, i, ts)
			i = (i + 1) % len(src.AUs)
			if mode == Slow {
				step = time.Duration(float64(step) / c.opts.SlowFactor)
			}
		}
		if mode == Hostile && time.Since(lastHostile) >= time.Second {
			c.stream.WritePacketRTP(c.media, pk.hostilePacket(ts))
			lastHostile = time.Now()
		}
		due = due.Add(step)
		timer.Reset(time.Until(due))
	}
}

func (c *Camera) take() (Mode, *Source) {
	c.mu.Lock()
	defer c.mu.Unlock()
	next := c.next
	c.next = nil
	return c.mode, next
}

// sendAU sends picture i, preceded by the parameter sets if it is a
// keyframe (in-band, as cameras do).
func (c *Camera) sendAU(pk *packetizer, src *Source, i int, ts uint32) {
	au := src.AUs[i]
	nals := au.NALs
	if au.Key {
		ps := [][]byte{src.SPS, src.PPS}
		if src.Codec == "h265" {
			ps = [][]byte{src.VPS, src.SPS, src.PPS}
		}
		nals = append(ps, nals...)
	}
	ts += uint32(au.PTSOffset) * uint32(src.FrameDur*90000/time.Second)
	for _, p := range pk.packets(nals, ts) {
		c.stream.WritePacketRTP(c.media, p)
	}
}

// OnConnOpen implements gortsplib.ServerHandlerOnConnOpen.
func (c *Camera) OnConnOpen(ctx *gortsplib.ServerHandlerOnConnOpenCtx) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.conns[ctx.Conn] = struct{}{}
	if c.mode == Drop {
		go ctx.Conn.Close()
	}
}

// OnConnClose implements gortsplib.ServerHandlerOnConnClose.
func (c *Camera) OnConnClose(ctx *gortsplib.ServerHandlerOnConnCloseCtx) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.conns, ctx.Conn)
}

// OnDescribe implements gortsplib.ServerHandlerOnDescribe.
func (c *Camera) OnDescribe(ctx *gortsplib.ServerHandlerOnDescribeCtx) (*base.Response, *gortsplib.ServerStream, error) {
	return c.authorize(ctx.Request), c.stream, nil
}

// OnSetup implements gortsplib.ServerHandlerOnSetup.
func (c *Camera) OnSetup(ctx *gortsplib.ServerHandlerOnSetupCtx) (*base.Response, *gortsplib.ServerStream, error) {
	return c.authorize(ctx.Request), c.stream, nil
}

const realm = "camsim"

// authorize answers 200, or 401 with a Digest challenge when the camera
// has credentials and the request does not carry them.
func (c *Camera) authorize(req *base.Request) *base.Response {
	if c.opts.User == "" {
		return &base.Response{StatusCode: base.StatusOK}
	}
	methods := []auth.ValidateMethod{auth.ValidateMethodDigestMD5}
	if err := auth.Validate(req, c.opts.User, c.opts.Pass, methods, realm, c.nonce); err != nil {
		return &base.Response{StatusCode: base.StatusUnauthorized, Header: base.Header{
			"WWW-Authenticate": auth.GenerateWWWAuthenticate(methods, realm, c.nonce),
		}}
	}
	return &base.Response{StatusCode: base.StatusOK}
}

// OnPlay implements gortsplib.ServerHandlerOnPlay.
func (c *Camera) OnPlay(*gortsplib.ServerHandlerOnPlayCtx) (*base.Response, error) {
	c.mu.Lock()
	c.played++
	c.mu.Unlock()
	return &base.Response{StatusCode: base.StatusOK}, nil
}
