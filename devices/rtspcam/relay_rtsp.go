package rtspcam

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"
)

// An RTSP server session over interleaved TCP (RFC 2326): OPTIONS,
// DESCRIBE, SETUP, PLAY, TEARDOWN, and GET_PARAMETER or SET_PARAMETER as
// keepalives. UDP transport is refused (461): viewers reach the relay
// through kioskd's TCP splice only. Request URLs are not checked: kioskd
// checked the first one's camera and token before splicing.

// sessionTimeout is announced in SETUP; a client silent for longer (no
// request, no RTCP) is disconnected.
const sessionTimeout = 60 * time.Second

type rtspSession struct {
	srv     *relayServer
	conn    net.Conn
	br      *bufio.Reader
	w       *connWriter
	id      string
	params  *params
	channel int // interleaved RTP channel, from SETUP; -1 before
	rtp     *packetizer
	viewer  *viewer
	streams sync.WaitGroup
}

// serve answers requests, first being the one already read, until the
// client leaves, tears down or goes silent, or the relay drops it.
func (s *rtspSession) serve(ctx context.Context, first request) error {
	defer func() {
		if s.viewer != nil {
			s.viewer.cancel(nil)
		}
		s.conn.Close()
		s.streams.Wait()
	}()
	req := first
	for {
		done, err := s.handle(ctx, req)
		if done || err != nil {
			return err
		}
		s.conn.SetReadDeadline(time.Now().Add(sessionTimeout + 10*time.Second))
		if req, err = s.next(); err != nil {
			if s.viewer != nil && s.viewer.ctx.Err() != nil {
				return context.Cause(s.viewer.ctx)
			}
			if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
	}
}

// next reads the next request, skipping the client's interleaved RTCP.
func (s *rtspSession) next() (request, error) {
	for {
		b, err := s.br.Peek(1)
		if err != nil {
			return request{}, err
		}
		if b[0] != '$' {
			return readRequest(s.br)
		}
		head := make([]byte, 4)
		if _, err := io.ReadFull(s.br, head); err != nil {
			return request{}, err
		}
		n := int(head[2])<<8 | int(head[3])
		if _, err := s.br.Discard(n); err != nil {
			return request{}, err
		}
		s.conn.SetReadDeadline(time.Now().Add(sessionTimeout + 10*time.Second))
	}
}

// handle answers one request; done says the session is over.
func (s *rtspSession) handle(ctx context.Context, req request) (done bool, err error) {
	switch req.method {
	case "OPTIONS":
		return false, s.reply(req, "200 OK", "Public: OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN, GET_PARAMETER, SET_PARAMETER")
	case "GET_PARAMETER", "SET_PARAMETER":
		return false, s.reply(req, "200 OK")
	case "DESCRIBE":
		return false, s.describe(ctx, req)
	case "SETUP":
		return false, s.setup(ctx, req)
	case "PLAY":
		return false, s.play(ctx, req)
	case "TEARDOWN":
		return true, s.reply(req, "200 OK")
	}
	return false, s.reply(req, "501 Not Implemented")
}

func (s *rtspSession) describe(ctx context.Context, req request) error {
	p, err := s.srv.relay.currentParams(ctx)
	if err != nil {
		return s.reply(req, "503 Service Unavailable")
	}
	s.params = p
	sdp := sessionSDP(s.srv.camera, p)
	return s.reply(req, "200 OK", "Content-Type: application/sdp", "Content-Length: "+strconv.Itoa(len(sdp)), "\r\n"+sdp)
}

func (s *rtspSession) setup(ctx context.Context, req request) error {
	if s.viewer != nil {
		return s.reply(req, "455 Method Not Valid in This State")
	}
	ch, ok := interleaved(req.header["transport"])
	if !ok {
		return s.reply(req, "461 Unsupported Transport")
	}
	if s.params == nil {
		p, err := s.srv.relay.currentParams(ctx)
		if err != nil {
			return s.reply(req, "503 Service Unavailable")
		}
		s.params = p
	}
	s.channel, s.rtp = ch, newPacketizer(s.params.codec, byte(ch))
	if s.id == "" {
		s.id = newSessionID()
	}
	transport := fmt.Sprintf("Transport: RTP/AVP/TCP;unicast;interleaved=%d-%d;ssrc=%08X", ch, ch+1, s.rtp.ssrc)
	return s.reply(req, "200 OK", transport, fmt.Sprintf("Session: %s;timeout=%d", s.id, int(sessionTimeout.Seconds())))
}

func (s *rtspSession) play(ctx context.Context, req request) error {
	switch {
	case s.rtp == nil:
		return s.reply(req, "455 Method Not Valid in This State")
	case s.viewer != nil:
		return s.reply(req, "200 OK", "Session: "+s.id) // already playing
	}
	v, p, err := s.srv.relay.join(ctx)
	if err != nil {
		return s.reply(req, "503 Service Unavailable")
	}
	if p.codec != s.rtp.codec {
		s.srv.relay.leave(v)
		return s.reply(req, "503 Service Unavailable")
	}
	s.viewer = v
	info := fmt.Sprintf("RTP-Info: url=%s;seq=%d;rtptime=%d", req.url, s.rtp.seq, s.rtp.origin)
	if err := s.reply(req, "200 OK", "Session: "+s.id, "Range: npt=0.000-", info); err != nil {
		return err
	}
	s.streams.Go(func() {
		err := s.srv.relay.stream(v, s.w, s.rtp.frame)
		if errors.Is(err, errDropSlow) {
			s.srv.log.Warn("live relay: RTSP viewer dropped", "err", err)
		}
		s.conn.Close() // ends the request loop too
	})
	return nil
}

// reply sends a response with the request's CSeq. A header that starts
// with "\r\n" is the body, after the head.
func (s *rtspSession) reply(req request, status string, headers ...string) error {
	return s.w.write([]byte(rtspStatus(req, status, headers...)))
}

func rtspStatus(req request, status string, headers ...string) string {
	var b strings.Builder
	b.WriteString("RTSP/1.0 " + status + "\r\nCSeq: " + req.header["cseq"] + "\r\nServer: kioskd\r\n")
	body := ""
	for _, h := range headers {
		if strings.HasPrefix(h, "\r\n") {
			body = h[2:]
			continue
		}
		b.WriteString(h + "\r\n")
	}
	b.WriteString("\r\n" + body)
	return b.String()
}

// interleaved picks the TCP alternative of a Transport header and its RTP
// channel (0 if it names none).
func interleaved(transport string) (int, bool) {
	for _, alt := range strings.Split(transport, ",") {
		params := strings.Split(strings.TrimSpace(alt), ";")
		if !strings.EqualFold(params[0], "RTP/AVP/TCP") {
			continue
		}
		for _, p := range params[1:] {
			if v, ok := strings.CutPrefix(p, "interleaved="); ok {
				first, _, _ := strings.Cut(v, "-")
				n, err := strconv.Atoi(first)
				if err != nil || n < 0 || n > 254 {
					return 0, false
				}
				return n, true
			}
		}
		return 0, true
	}
	return 0, false
}

func newSessionID() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}
