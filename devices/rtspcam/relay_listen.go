package rtspcam

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The relay's unix socket. Only kioskd connects to it (the socket is 0600
// in the state directory): its RTSP relay splices viewers to it after
// checking their token, and its guard console proxies the browser's
// fMP4 stream. The first request says which protocol a connection speaks:
// "... RTSP/1.0" is an RTSP session, "GET /live.mp4 HTTP/1.1" the fMP4.

const (
	maxViewers     = 32               // connections at once; more get 503
	requestTimeout = 10 * time.Second // to send a whole request head
	writeTimeout   = 10 * time.Second // for one write to a viewer
	maxLine        = 4096
	maxHeaders     = 64
	maxBody        = 64 << 10
)

// relayServer serves one camera's relay on a unix socket.
type relayServer struct {
	relay  *relay
	camera string
	path   string
	log    *slog.Logger
	open   atomic.Int32 // connections being served
}

// run listens on the socket and serves connections until ctx is done.
// Without a path it does nothing; a socket that cannot be opened is
// logged and leaves ingest and clips running, without a relay.
func (s *relayServer) run(ctx context.Context) {
	if s.path == "" {
		return
	}
	os.Remove(s.path) // left by a child that was killed
	ln, err := net.Listen("unix", s.path)
	if err == nil {
		err = os.Chmod(s.path, 0o600)
	}
	if err != nil {
		s.log.Error("live relay: no socket; live view is off for this camera", "err", err)
		if ln != nil {
			ln.Close()
		}
		return
	}
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		conn, err := ln.Accept()
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			s.log.Warn("live relay: accept", "err", err)
			time.Sleep(100 * time.Millisecond) // e.g. out of file descriptors
			continue
		}
		wg.Go(func() { s.serveConn(ctx, conn) })
	}
}

func (s *relayServer) serveConn(ctx context.Context, conn net.Conn) {
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	s.open.Add(1)
	defer s.open.Add(-1)
	w := &connWriter{conn: conn, bytes: &s.relay.bytes}
	br := bufio.NewReaderSize(conn, maxLine)
	conn.SetReadDeadline(time.Now().Add(requestTimeout))
	req, err := readRequest(br)
	if err != nil {
		s.log.Debug("live relay: bad first request", "err", err)
		return
	}
	full := s.open.Load() > maxViewers
	switch {
	case strings.HasPrefix(req.proto, "RTSP/") && full:
		w.write([]byte(rtspStatus(req, "503 Service Unavailable")))
	case strings.HasPrefix(req.proto, "RTSP/"):
		sess := &rtspSession{srv: s, conn: conn, br: br, w: w, channel: -1}
		err = sess.serve(ctx, req)
	case strings.HasPrefix(req.proto, "HTTP/"):
		err = s.serveMP4(ctx, w, req, full)
	}
	if err != nil && ctx.Err() == nil {
		s.log.Info("live relay: viewer left", "err", err)
	}
}

// connWriter writes to a viewer under a lock (an RTSP session's replies
// and its packets share the connection), each write bounded in time, and
// counts the bytes.
type connWriter struct {
	mu    sync.Mutex
	conn  net.Conn
	bytes *atomic.Int64
}

func (w *connWriter) write(b []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.conn.SetWriteDeadline(time.Now().Add(writeTimeout))
	n, err := w.conn.Write(b)
	w.bytes.Add(int64(n))
	return err
}

// stream sends the viewer's frames, each encoded by encode, until the
// relay drops the viewer, a write fails or ctx ends.
func (r *relay) stream(v *viewer, w *connWriter, encode func([]byte, *frame) []byte) error {
	defer r.leave(v)
	// A dropped viewer may be stuck in a write: closing unblocks it.
	stop := context.AfterFunc(v.ctx, func() { w.conn.Close() })
	defer stop()
	var buf []byte
	for {
		select {
		case <-v.ctx.Done():
			return context.Cause(v.ctx)
		case f := <-v.frames:
			buf = encode(buf[:0], f)
			if err := w.write(buf); err != nil {
				return fmt.Errorf("write to viewer: %w", err)
			}
		}
	}
}

// request is the head of an RTSP or HTTP request.
type request struct {
	method, url, proto string
	header             map[string]string // keys in lower case
}

// readRequest reads a request head, and skips its body if it has one.
func readRequest(br *bufio.Reader) (request, error) {
	line, err := readLine(br)
	if err != nil {
		return request{}, err
	}
	parts := strings.Fields(line)
	if len(parts) != 3 {
		return request{}, fmt.Errorf("malformed request line %q", line)
	}
	req := request{method: parts[0], url: parts[1], proto: parts[2], header: map[string]string{}}
	for range maxHeaders {
		line, err := readLine(br)
		if err != nil {
			return request{}, err
		}
		if line == "" {
			return req, skipBody(br, req.header["content-length"])
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			return request{}, fmt.Errorf("malformed header %q", line)
		}
		req.header[strings.ToLower(strings.TrimSpace(k))] = strings.TrimSpace(v)
	}
	return request{}, errors.New("too many header lines")
}

func readLine(br *bufio.Reader) (string, error) {
	b, err := br.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		return "", errors.New("request line too long")
	}
	if err != nil {
		return "", err
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}

func skipBody(br *bufio.Reader, length string) error {
	if length == "" {
		return nil
	}
	n, err := strconv.Atoi(length)
	if err != nil || n < 0 || n > maxBody {
		return fmt.Errorf("bad content-length %q", length)
	}
	_, err = io.CopyN(io.Discard, br, int64(n))
	return err
}
