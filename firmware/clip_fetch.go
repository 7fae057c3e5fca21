package firmware

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"kioskd/cloudlink/contract"
	"kioskd/firmware/config"
	"kioskd/kiosk/journal"
)

// The clip server: the platform GETs clips from the kiosk on a listener of
// its own (clips.fetch_listen), which serves GET /api/clips/{id}?token=...
// and nothing else: not the citizen screen, not the kiosk's API. clip.ready
// events carry a fetch URL with a token valid for clips.token_ttl; the
// clip_link command gives a fresh one to a platform that comes late.

// runClipServer serves clips to the platform until ctx is done; without
// clips.fetch_listen it does nothing. A listener that cannot be opened
// stops kioskd, as the kiosk's own does.
func (d *Daemon) runClipServer(ctx context.Context) error {
	if d.cfg.Clips.FetchListen == "" {
		return nil
	}
	return d.keepServing(ctx, "clips", d.serveClips)
}

// serveClips listens on clips.fetch_listen (TLS when configured) and
// serves only the clip downloads until ctx is done.
func (d *Daemon) serveClips(ctx context.Context, listening func()) error {
	cl := d.cfg.Clips
	var cert tls.Certificate
	if cl.FetchTLS() {
		var err error
		if cert, err = tls.LoadX509KeyPair(cl.FetchTLSCertFile, cl.FetchTLSKeyFile); err != nil {
			return fmt.Errorf("clips.fetch_tls_cert_file, clips.fetch_tls_key_file: %w", err)
		}
	}
	ln, err := net.Listen("tcp", cl.FetchListen)
	if err != nil {
		return fmt.Errorf("clips.fetch_listen %s: %w", cl.FetchListen, err)
	}
	if cl.FetchTLS() {
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	} else if host, _, _ := net.SplitHostPort(cl.FetchListen); !isLoopback(host) {
		d.log.Warn("clip server over plain HTTP: a fetch URL's token, and the video, cross the network unencrypted; keep it inside a VPN or on the post's own LAN, or set clips.fetch_tls_cert_file and fetch_tls_key_file", "listen", cl.FetchListen)
	}
	listening()
	d.log.Info("clip server listening", "addr", ln.Addr().String(), "tls", cl.FetchTLS(), "fetch", d.cams.fetch)
	mux := http.NewServeMux()
	d.cams.clipRoutes(mux, true)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: time.Minute}
	return serve(ctx, srv, ln)
}

// fetchBase is the scheme and address of fetch URLs, "" without a clip
// server.
func fetchBase(cl config.Clips, address string) string {
	if cl.FetchListen == "" {
		return ""
	}
	scheme := "http://"
	if cl.FetchTLS() {
		scheme = "https://"
	}
	return scheme + address
}

// advertised is addr as others can reach it: an empty or unspecified
// host (every interface) becomes the box's host name.
func advertised(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || (host != "" && !net.ParseIP(host).IsUnspecified()) {
		return addr
	}
	if name, err := os.Hostname(); err == nil {
		return net.JoinHostPort(name, port)
	}
	return addr
}

// fetchLink is a clip's fetch URL with a fresh token, and when the token
// expires; "" without a clip server.
func (cs *cameraSet) fetchLink(id string) (string, time.Time) {
	if cs.fetch == "" {
		return "", time.Time{}
	}
	token, exp := cs.tokens.MintExpiring("clip", id)
	return cs.fetch + clipRoute(id, token), exp
}

// finishedClip finds clip id of incident, finished and with its file, or
// says why not in a command's terms.
func (cs *cameraSet) finishedClip(incident, id string) (journal.Clip, *contract.ReplyError) {
	c, f, err := cs.openClip(id)
	if err == nil {
		f.Close()
	}
	switch {
	case errors.Is(err, journal.ErrNoClip) && c.State == journal.ClipRecording:
		return c, &contract.ReplyError{Code: contract.ErrRejected, Message: "clip still recording; ask again after clip.ready"}
	case err != nil || c.Incident != incident:
		return c, &contract.ReplyError{Code: contract.ErrNotFound, Message: "no such clip of this incident on the kiosk"}
	}
	return c, nil
}

// clipLink answers the clip_link command: a fresh fetch URL in the
// reply's result.
func (cs *cameraSet) clipLink(raw json.RawMessage) (json.RawMessage, *contract.ReplyError) {
	var a contract.ClipLinkArgs
	if err := contract.DecodeArgs(raw, &a); err != nil {
		return nil, &contract.ReplyError{Code: contract.ErrBadArgs, Message: "args must name incident and clip: " + err.Error()}
	}
	if cs.fetch == "" {
		return nil, &contract.ReplyError{Code: contract.ErrRejected, Message: "this kiosk runs no clip server (clips.fetch_listen is empty); ask for upload_clip"}
	}
	c, rerr := cs.finishedClip(a.Incident, a.Clip)
	if rerr != nil {
		return nil, rerr
	}
	fetch, exp := cs.fetchLink(c.ID)
	b, err := json.Marshal(contract.ClipLink{Clip: c.ID, Fetch: fetch, Expires: exp, SHA256: c.SHA256, Bytes: c.Bytes})
	if err != nil {
		return nil, &contract.ReplyError{Code: contract.ErrInternal, Message: err.Error()}
	}
	return b, nil
}
