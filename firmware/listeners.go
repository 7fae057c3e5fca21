package firmware

import (
	"context"
	"time"

	"kioskd/kiosk"
)

// The guard console, the clip server and the live relay listen on the
// post's LAN. They are conveniences beside the alarm path: an address not up yet at boot, a
// port taken or a certificate missing must never stop kioskd (its errgroup
// would take the alarm path down with it, and systemd would restart it in
// a loop). keepServing retries such a listener for ever and raises the
// fault "listener:NAME" while it cannot serve.

// serveFunc listens and serves until ctx ends or it fails; it calls
// listening once its listener is open.
type serveFunc func(ctx context.Context, listening func()) error

const listenerRetryMax = time.Minute

// keepServing runs serve until ctx is done, restarting it with backoff
// (1 s doubling to a minute) whenever it fails. It always returns nil.
func (d *Daemon) keepServing(ctx context.Context, name string, serve serveFunc) error {
	key := "listener:" + name
	wait, raised := time.Second, false
	listening := func() {
		wait = time.Second
		if raised {
			raised = false
			d.submitFault(ctx, kiosk.ClearFault{Key: key})
		}
	}
	for {
		err := serve(ctx, listening)
		if ctx.Err() != nil {
			return nil
		}
		d.log.Error(name+" cannot serve; the alarm path runs on, retrying", "err", err, "retry_in", wait)
		if !raised {
			raised = true
			d.submitFault(ctx, kiosk.RaiseFault{Key: key, Detail: err.Error()})
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		wait = min(2*wait, listenerRetryMax)
	}
}

func (d *Daemon) submitFault(ctx context.Context, in kiosk.Input) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := d.ctrl.Submit(ctx, in); err != nil {
		d.log.Error("fault not journaled", "input", in, "err", err)
	}
}
