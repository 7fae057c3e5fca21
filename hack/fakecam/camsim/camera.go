package camsim

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"

	"github.com/bluenviron/gortsplib/v4"
	"github.com/bluenviron/gortsplib/v4/pkg/auth"
	"github.com/bluenviron/gortsplib/v4/pkg/description"
	"github.com/bluenviron/gortsplib/v4/pkg/format"
)

// Mode is how a camera behaves; a test switches it at runtime.
type Mode string

const (
	Normal  Mode = "normal"  // frames in real time
	Stall   Mode = "stall"   // sessions stay open, no frames
	Drop    Mode = "drop"    // every connection is closed, new ones refused
	Slow    Mode = "slow"    // frames at a fraction (Options.SlowFactor) of real rate
	Hostile Mode = "hostile" // a malformed packet that crashes vdk, once a second
)

// ParseMode checks a mode name.
func ParseMode(s string) (Mode, error) {
	switch m := Mode(s); m {
	case Normal, Stall, Drop, Slow, Hostile:
		return m, nil
	}
	return "", fmt.Errorf("camsim: unknown mode %q", s)
}

// Options are one camera's variants.
type Options struct {
	Addr   string // listen address; default 127.0.0.1:0
	Source *Source
	// STAPA aggregates small NAL units (SPS, PPS and a small IDR) into one
	// STAP-A (AP for H.265) packet.
	STAPA bool
	// Origin is the RTP timestamp of the first frame; with RandomOrigin
	// false and Origin 0 it is 0. Set it near 1<<32 to test the wrap.
	Origin       uint32
	RandomOrigin bool
	NoSprop      bool    // no parameter sets in the SDP, only in-band
	SlowFactor   float64 // rate in Slow mode; default 0.25
	// User and Pass, if set, are required with Digest authentication.
	User, Pass string
}

// Camera is one simulated RTSP camera.
type Camera struct {
	opts   Options
	server *gortsplib.Server
	stream *gortsplib.ServerStream
	media  *description.Media
	addr   string
	nonce  string
	cancel context.CancelFunc
	done   chan struct{}

	mu     sync.Mutex
	mode   Mode
	next   *Source // a source to switch to at the next frame
	conns  map[*gortsplib.ServerConn]struct{}
	played int // sessions that started playing
}

// Start listens and begins looping the source.
func Start(o Options) (*Camera, error) {
	if o.Addr == "" {
		o.Addr = "127.0.0.1:0"
	}
	if o.SlowFactor <= 0 {
		o.SlowFactor = 0.25
	}
	if o.RandomOrigin {
		o.Origin = rand.Uint32()
	}
	addr, err := freeAddr(o.Addr)
	if err != nil {
		return nil, err
	}
	c := &Camera{opts: o, addr: addr, mode: Normal, conns: map[*gortsplib.ServerConn]struct{}{}, done: make(chan struct{})}
	if c.nonce, err = auth.GenerateNonce(); err != nil {
		return nil, fmt.Errorf("camsim: %w", err)
	}
	c.media = &description.Media{Type: description.MediaTypeVideo, Formats: []format.Format{o.format()}}
	c.server = &gortsplib.Server{Handler: c, RTSPAddress: addr}
	if err := c.server.Start(); err != nil {
		return nil, fmt.Errorf("camsim: %w", err)
	}
	c.stream = gortsplib.NewServerStream(c.server, &description.Session{Medias: []*description.Media{c.media}})
	ctx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	go c.play(ctx)
	return c, nil
}

// freeAddr resolves a :0 port to a free one, so the URL is known before
// the server starts.
func freeAddr(addr string) (string, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("camsim: %w", err)
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func (o Options) format() format.Format {
	s := o.Source
	if o.NoSprop {
		s = &Source{Codec: s.Codec}
	}
	if s.Codec == "h265" {
		return &format.H265{PayloadTyp: 96, VPS: s.VPS, SPS: s.SPS, PPS: s.PPS}
	}
	return &format.H264{PayloadTyp: 96, SPS: s.SPS, PPS: s.PPS, PacketizationMode: 1}
}

// URL is the camera's rtsp:// URL.
func (c *Camera) URL() string { return "rtsp://" + c.addr + "/stream" }

// Addr is the camera's host:port.
func (c *Camera) Addr() string { return c.addr }

// SetMode switches the camera's behaviour.
func (c *Camera) SetMode(m Mode) {
	c.mu.Lock()
	c.mode = m
	var conns []*gortsplib.ServerConn
	if m == Drop {
		for sc := range c.conns {
			conns = append(conns, sc)
		}
	}
	c.mu.Unlock()
	for _, sc := range conns {
		sc.Close()
	}
}

// Mode returns the current mode.
func (c *Camera) Mode() Mode {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.mode
}

// SetSource switches to another source at the next frame (which must be of
// the same codec): with other parameter sets, an SPS change mid-stream.
func (c *Camera) SetSource(s *Source) {
	c.mu.Lock()
	c.next = s
	c.mu.Unlock()
}

// Played counts the sessions that have started playing.
func (c *Camera) Played() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.played
}

// Close stops the camera and closes every connection.
func (c *Camera) Close() {
	c.cancel()
	<-c.done
	c.stream.Close()
	c.server.Close()
}
