package firmware

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"time"

	"kioskd/cloudlink"
	"kioskd/firmware/listeners"
	"kioskd/kiosk/screen"
	"kioskd/kiosk/screen/guardauth"
)

// runGuard serves the guard console on its own listener (guard.listen)
// until ctx is done; without guard.listen it does nothing. A listener that
// cannot be opened stops kioskd, as the kiosk's own does.
func (d *Daemon) runGuard(ctx context.Context, br *bridge, link *cloudlink.Link) error {
	if d.cfg.Guard.Listen == "" {
		return nil
	}
	return listeners.Keep(ctx, "guard", func(ctx context.Context, listening func()) error {
		g, err := d.guardConsole(br, link)
		if err != nil {
			return err
		}
		return d.serveGuard(ctx, g, listening)
	}, br.controller, d.log)
}

// serveGuard listens on guard.listen (TLS when configured) and serves the
// console until ctx is done.
func (d *Daemon) serveGuard(ctx context.Context, g *screen.Guard, listening func()) error {
	gc := d.cfg.Guard
	ln, err := net.Listen("tcp", gc.Listen)
	if err != nil {
		return fmt.Errorf("guard.listen %s: %w", gc.Listen, err)
	}
	if gc.TLS() {
		cert, err := tls.LoadX509KeyPair(gc.TLSCertFile, gc.TLSKeyFile)
		if err != nil {
			ln.Close()
			return fmt.Errorf("guard.tls_cert_file, guard.tls_key_file: %w", err)
		}
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	} else if host, _, _ := net.SplitHostPort(gc.Listen); !listeners.Loopback(host) {
		d.log.Warn("guard console over plain HTTP: passwords and sessions cross the network unencrypted; keep it on the post's own LAN, or set guard.tls_cert_file and tls_key_file", "listen", gc.Listen)
	}
	listening()
	d.log.Info("guard console listening", "addr", ln.Addr().String(), "tls", gc.TLS(), "guards", len(gc.Users))
	srv := &http.Server{Handler: g.Handler(), ReadHeaderTimeout: 10 * time.Second}
	return listeners.HTTP(ctx, srv, ln)
}

// guardConsole builds the console from the config and the running parts.
func (d *Daemon) guardConsole(br *bridge, link *cloudlink.Link) (*screen.Guard, error) {
	gc := d.cfg.Guard
	users := make([]guardauth.User, len(gc.Users))
	for i, u := range gc.Users {
		users[i] = guardauth.User{Name: u.Name, Hash: u.PasswordHash}
	}
	auth, err := guardauth.New(guardauth.Options{
		Users: users, IdleTimeout: gc.SessionIdle.Duration, MaxAge: gc.SessionMax.Duration,
		LockoutAfter: gc.LockoutAfter, Lockout: gc.Lockout.Duration,
	})
	if err != nil {
		return nil, fmt.Errorf("guard.user: %w", err)
	}
	g := &screen.Guard{
		KioskID: d.cfg.Kiosk.ID, Controller: br.controller, History: br.journal, Auth: auth, Hub: d.hub,
		Now: br.clock.Now, Online: func() bool { return link.Status().Connected },
		TLS: gc.TLS(), Log: d.log.With("part", "guard"),
	}
	d.cams.Console(g) // health, clips and live view, when the post has cameras
	return g, nil
}
