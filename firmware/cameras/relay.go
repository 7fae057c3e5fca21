package cameras

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"kioskd/firmware/listeners"
)

// The live relay's front door (issue 3): RTSP on relay.listen. kioskd
// reads the first request of a connection, takes the camera and the token
// from its URL (rtsp://HOST:PORT/CAMERA?token=T, as liveRef writes them),
// checks the token, and then splices the connection, that request
// included, to the unix socket of the camera's child, which serves the
// RTSP session from its one camera session (devices/rtspcam/relay*.go).
// kioskd parses no media: a malformed stream can only hurt the child.

const (
	relayMaxConns     = 64 // connections at once; more are closed at once
	relayHeadTimeout  = 10 * time.Second
	relayDialTimeout  = 2 * time.Second
	relayMaxHeadLines = 64
	// relayWriteBuffer bounds the kernel's send buffer per viewer (about
	// half a second of a 4 Mbit/s camera): a viewer that stops reading
	// fills it soon, the child's queue behind it fills, and the child
	// drops the viewer instead of megabytes piling up in autotuned buffers.
	relayWriteBuffer = 256 << 10
)

// runRelay serves the live relay until ctx is done; without cameras or
// relay.listen it does nothing.
func (cs *Set) runRelay(ctx context.Context) {
	if cs.live.listen == "" || len(cs.cams) == 0 {
		return
	}
	listeners.Keep(ctx, "relay", cs.live.Serve, cs.ctrl, cs.log)
}

// liveSocket is the unix socket a camera's child serves its relay on.
func liveSocket(stateDir, camera string) string {
	return filepath.Join(stateDir, "live-"+camera+".sock")
}

// liveRelay is the RTSP listener and what it has seen.
type liveRelay struct {
	cs       *Set
	stateDir string
	listen   string
	log      *slog.Logger
	open     atomic.Int32
	refused  atomic.Int64 // requests refused: bad or expired token, unknown camera

	mu        sync.Mutex
	listening string // the bound address, once listening
	problem   string // why the relay is not listening
}

func newLiveRelay(cs *Set, stateDir, listen string, log *slog.Logger) *liveRelay {
	return &liveRelay{cs: cs, stateDir: stateDir, listen: listen, log: log.With("part", "relay")}
}

// Serve serves the relay until ctx is done. A listener that cannot be
// opened is reported in /api/cameras and returned; listeners.Keep retries it
// and raises listener:relay, and it never stops kioskd (the alarm path
// does not depend on live video).
func (lr *liveRelay) Serve(ctx context.Context, listening func()) error {
	ln, err := net.Listen("tcp", lr.listen)
	if err != nil {
		lr.setState("", fmt.Sprintf("relay.listen %s: %v", lr.listen, err))
		return fmt.Errorf("relay.listen %s: %w", lr.listen, err)
	}
	listening()
	lr.setState(ln.Addr().String(), "")
	lr.log.Info("live relay listening", "addr", ln.Addr().String())
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		conn, err := ln.Accept()
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			lr.log.Warn("live relay: accept", "err", err)
			time.Sleep(100 * time.Millisecond) // e.g. out of file descriptors
			continue
		}
		if lr.open.Load() >= relayMaxConns {
			conn.Close()
			continue
		}
		lr.open.Add(1)
		wg.Go(func() { defer lr.open.Add(-1); lr.serveConn(ctx, conn) })
	}
}

func (lr *liveRelay) setState(listening, problem string) {
	lr.mu.Lock()
	defer lr.mu.Unlock()
	lr.listening, lr.problem = listening, problem
}

// serveConn checks the first request and splices the connection to the
// camera's child, or refuses it.
func (lr *liveRelay) serveConn(ctx context.Context, conn net.Conn) {
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	conn.SetReadDeadline(time.Now().Add(relayHeadTimeout))
	br := bufio.NewReaderSize(conn, 4096)
	head, err := readRTSPHead(br)
	if err != nil {
		lr.log.Debug("live relay: unreadable request", "remote", conn.RemoteAddr().String(), "err", err)
		return
	}
	camera, status := lr.admit(head)
	if status != "" {
		lr.refused.Add(1)
		lr.log.Info("live relay: request refused", "remote", conn.RemoteAddr().String(), "camera", camera, "status", status)
		io.WriteString(conn, "RTSP/1.0 "+status+"\r\nCSeq: "+head.cseq+"\r\nServer: kioskd\r\n\r\n")
		return
	}
	var d net.Dialer
	dctx, cancel := context.WithTimeout(ctx, relayDialTimeout)
	child, err := d.DialContext(dctx, "unix", liveSocket(lr.stateDir, camera))
	cancel()
	if err != nil {
		lr.log.Warn("live relay: camera process not reachable", "camera", camera, "err", err)
		io.WriteString(conn, "RTSP/1.0 503 Service Unavailable\r\nCSeq: "+head.cseq+"\r\nServer: kioskd\r\n\r\n")
		return
	}
	conn.SetReadDeadline(time.Time{})
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.SetWriteBuffer(relayWriteBuffer)
	}
	if _, err := child.Write(head.raw); err != nil {
		child.Close()
		return
	}
	splice(conn, br, child)
}

// admit returns the camera a request asks for, and a status line if it
// must be refused.
func (lr *liveRelay) admit(h rtspHead) (camera, status string) {
	u, err := url.Parse(h.url)
	if err != nil || !strings.HasPrefix(h.proto, "RTSP/") {
		return "", "400 Bad Request"
	}
	first, _, _ := strings.Cut(strings.TrimPrefix(u.Path, "/"), "/")
	camera, err = url.PathUnescape(first)
	if err != nil || camera == "" {
		return camera, "404 Not Found"
	}
	if err := lr.cs.tokens.Check("live", camera, u.Query().Get("token")); err != nil {
		return camera, "401 Unauthorized"
	}
	if lr.cs.camera(camera) == nil {
		return camera, "404 Not Found"
	}
	return camera, ""
}

// splice copies both ways until either side ends, then closes both. The
// viewer's bytes still buffered in br go first.
func splice(viewer net.Conn, br *bufio.Reader, child net.Conn) {
	var wg sync.WaitGroup
	wg.Go(func() {
		io.Copy(child, br)
		child.Close()
		viewer.Close()
	})
	io.Copy(viewer, child)
	viewer.Close()
	child.Close()
	wg.Wait()
}

// rtspHead is the head of a request, as read and as it will be forwarded.
type rtspHead struct {
	raw                []byte
	method, url, proto string
	cseq               string
}

// readRTSPHead reads a request line and its headers up to the blank line.
func readRTSPHead(br *bufio.Reader) (rtspHead, error) {
	var h rtspHead
	for i := range relayMaxHeadLines {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			return h, errors.New("request line too long")
		}
		if err != nil {
			return h, err
		}
		h.raw = append(h.raw, line...)
		text := strings.TrimRight(string(line), "\r\n")
		switch {
		case i == 0:
			parts := strings.Fields(text)
			if len(parts) != 3 {
				return h, fmt.Errorf("malformed request line %q", text)
			}
			h.method, h.url, h.proto = parts[0], parts[1], parts[2]
		case text == "":
			return h, nil
		default:
			if k, v, ok := strings.Cut(text, ":"); ok && strings.EqualFold(strings.TrimSpace(k), "CSeq") {
				h.cseq = strings.TrimSpace(v)
			}
		}
	}
	return h, errors.New("too many header lines")
}

// relayStatus is the relay's state in /api/cameras.
type relayStatus struct {
	Listen    string `json:"listen"`              // as configured; "" when off
	Listening string `json:"listening,omitempty"` // the bound address
	Problem   string `json:"problem,omitempty"`   // why it is not listening
	Refused   int64  `json:"refused"`             // requests refused since kioskd started
}

func (lr *liveRelay) status() relayStatus {
	lr.mu.Lock()
	defer lr.mu.Unlock()
	return relayStatus{Listen: lr.listen, Listening: lr.listening, Problem: lr.problem, Refused: lr.refused.Load()}
}
