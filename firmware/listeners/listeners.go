// Package listeners keeps kioskd's LAN listeners serving: the guard
// console, the clip server and the live relay. They are conveniences beside
// the alarm path: an address not up yet at boot, a port taken or a
// certificate missing must never stop kioskd (its errgroup would take the
// alarm path down with it, and systemd would restart it in a loop). Keep
// retries such a listener for ever and raises the fault "listener:NAME"
// while it cannot serve.
package listeners

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"kioskd/kiosk"
)

// Serve listens and serves until ctx ends or it fails; it calls
// listening once its listener is open.
type Serve func(ctx context.Context, listening func()) error

const retryMax = time.Minute

// Keep runs serve until ctx is done, restarting it with backoff (1 s
// doubling to a minute) whenever it fails, and journals the fault
// listener:NAME through ctrl while it cannot serve. It always returns nil.
func Keep(ctx context.Context, name string, serve Serve, ctrl *kiosk.Controller, log *slog.Logger) error {
	key := "listener:" + name
	wait, raised := time.Second, false
	listening := func() {
		wait = time.Second
		if raised {
			raised = false
			submitFault(ctx, ctrl, kiosk.ClearFault{Key: key}, log)
		}
	}
	for {
		err := serve(ctx, listening)
		if ctx.Err() != nil {
			return nil
		}
		log.Error(name+" cannot serve; the alarm path runs on, retrying", "err", err, "retry_in", wait)
		if !raised {
			raised = true
			submitFault(ctx, ctrl, kiosk.RaiseFault{Key: key, Detail: err.Error()}, log)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		wait = min(2*wait, retryMax)
	}
}

func submitFault(ctx context.Context, ctrl *kiosk.Controller, in kiosk.Input, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := ctrl.Submit(ctx, in); err != nil {
		log.Error("fault not journaled", "input", in, "err", err)
	}
}

// HTTP serves srv on ln until ctx is done, then shuts it down (3 s for
// requests in progress). A cancelled ctx is not an error.
func HTTP(ctx context.Context, srv *http.Server, ln net.Listener) error {
	go func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		srv.Shutdown(shut)
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("http: %w", err)
	}
	return nil
}

// Loopback reports whether host names this box only: a listener there
// needs no TLS, since nothing crosses the network.
func Loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
