package commands

import (
	"cmp"
	"context"
	"log/slog"
	"sync"
	"time"

	"kioskd/cloudlink/contract"
	"kioskd/kiosk"
)

// refuse journals a refused command as a security event and returns the
// reply error for it. The command is as the message claimed it (unverified
// for a bad signature). At most RefusalsPerMinute are journaled: a flood of
// forged commands must not fill the journal, whose critical events are
// never dropped; the rest are only logged and counted.
func (d *Dispatcher) refuse(ctx context.Context, cmd contract.Command, rerr *contract.ReplyError) *contract.ReplyError {
	d.cfg.Log.Warn("command refused", "code", rerr.Code, "command", cmd.ID, "name", cmd.Name,
		"counter", cmd.Counter, "addressed_to", cmd.Kiosk, "reason", rerr.Message)
	if !d.refusals.Allow(time.Now(), d.cfg.Log) {
		return rerr
	}
	_, err := d.cfg.Controller.Submit(ctx, kiosk.CommandRefused{
		Code: rerr.Code, Message: rerr.Message, Command: cmd.ID, Name: cmd.Name,
		Counter: cmd.Counter, AddressedTo: cmd.Kiosk,
	})
	if err != nil {
		d.cfg.Log.Error("journal refused command", "command", cmd.ID, "err", err)
	}
	return rerr
}

// RefusalsPerMinute bounds the security events a RefusalLimit lets through.
const RefusalsPerMinute = 30

// RefusalLimit counts refusals journaled in the current minute; the zero
// value is ready. firmware uses one for refused acks too.
type RefusalLimit struct {
	What       string // what is refused, for the log: "commands" when empty
	mu         sync.Mutex
	start      time.Time
	n          int
	suppressed int
}

// Allow reports whether a refusal at now may be journaled, and logs how
// many were not once their minute is over.
func (r *RefusalLimit) Allow(now time.Time, log *slog.Logger) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if now.Sub(r.start) >= time.Minute || now.Before(r.start) {
		if r.suppressed > 0 {
			log.Warn("refused "+cmp.Or(r.What, "commands")+" not journaled: more than the limit per minute", "count", r.suppressed, "limit", RefusalsPerMinute)
		}
		r.start, r.n, r.suppressed = now, 0, 0
	}
	if r.n >= RefusalsPerMinute {
		r.suppressed++
		return false
	}
	r.n++
	return true
}
