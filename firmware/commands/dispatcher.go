// Package commands is the kiosk's one way in for platform commands. The
// Dispatcher admits each command once, in one function and one order
// (signature, kiosk, replay window, expiry, argument limits), then routes it
// by name through a Table that the wiring (firmware) builds, and returns the
// whole reply for the cloud link to publish. Every refusal of a command that
// may be an attack is journaled as security.command_refused, a few a minute
// at most. ARCHITECTURE.md, "A command, from platform to screen", walks one
// through; cloudlink/contract/doc.md says what the platform sees.
package commands

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"kioskd/cloudlink/contract"
	"kioskd/kiosk"
	"kioskd/kiosk/journal"
)

// Config is what the dispatcher needs; every field but Log is required.
type Config struct {
	KioskID string // commands addressed to another kiosk are refused
	// Keys verify the platform's command signatures; more than one while
	// keys rotate. With none, every command is refused, unless
	// AllowUnsigned (development only: anyone who can publish can command).
	Keys          []ed25519.PublicKey
	AllowUnsigned bool
	Journal       *journal.Journal  // the replay window, durable across restarts
	Clock         *kiosk.Clock      // expiry is enforced only while it is synchronised
	Controller    *kiosk.Controller // journals the refusals
	Routes        Table
	Log           *slog.Logger
}

// Dispatcher admits, routes and answers platform commands. Answer is called
// by one goroutine at a time (the link's command goroutine).
type Dispatcher struct {
	cfg      Config
	refusals RefusalLimit
}

// New builds the dispatcher. It refuses a table whose route for a command
// takes another command's args.
func New(cfg Config) (*Dispatcher, error) {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if err := cfg.Routes.check(); err != nil {
		return nil, err
	}
	return &Dispatcher{cfg: cfg}, nil
}

// Answer admits one message from the command topic and, once admitted,
// applies it; it returns the reply to publish (it is cloudlink's
// Kiosk.Command). The reply of an admitted command is kept in the replay
// window, so that a re-send of it gets the same reply.
func (d *Dispatcher) Answer(ctx context.Context, payload []byte) contract.Reply {
	cmd, apply, rerr := d.admit(ctx, payload)
	var result json.RawMessage
	if rerr == nil {
		result, rerr = apply(ctx)
		if rerr == nil || rerr.Code != contract.ErrDuplicate {
			d.keepReply(cmd, result, rerr)
		}
	}
	if rerr != nil {
		result = nil // a refused command returns nothing
		if rerr.Code == "" {
			coded := *rerr // a copy: a handler may share its errors
			coded.Code = contract.ErrInternal
			rerr = &coded // the platform needs a code to act on
		}
	}
	return contract.Reply{V: contract.SchemaVersion, Command: cmd.ID, Kiosk: d.cfg.KioskID,
		OK: rerr == nil, Error: rerr, Result: result}
}

// admit checks a command once, in this order: its signature, the kiosk it
// is addressed to (and a name the table routes), the replay window, its
// expiry, its argument limits. It returns the command as read and either
// the call that applies it or the refusal to answer with. A re-sent command
// (same counter, same id) is not admitted again: its call answers with its
// first reply. Only refusals for signature, address, replay and expiry are
// journaled: they mean a misconfigured sender or an attack.
func (d *Dispatcher) admit(ctx context.Context, payload []byte) (contract.Command, call, *contract.ReplyError) {
	cmd, err := d.open(payload)
	if err != nil {
		var rerr *contract.ReplyError
		if !errors.As(err, &rerr) {
			rerr = refusal(contract.ErrMalformed, "%v", err)
		}
		return cmd, nil, d.refuse(ctx, cmd, rerr)
	}
	if cmd.Kiosk != d.cfg.KioskID {
		return cmd, nil, d.refuse(ctx, cmd, refusal(contract.ErrWrongKiosk, "addressed to kiosk %q, this is %q", cmd.Kiosk, d.cfg.KioskID))
	}
	route, ok := d.cfg.Routes[cmd.Name]
	if !ok { // a trusted platform newer than this kiosk: not an attack
		d.cfg.Log.Warn("command refused", "code", contract.ErrUnknownCommand, "command", cmd.ID, "name", cmd.Name)
		return cmd, nil, refusal(contract.ErrUnknownCommand, "unknown command %q", cmd.Name)
	}
	if first, ok := d.firstReply(cmd); ok {
		return cmd, first, nil
	}
	if rerr := d.checkExpiry(ctx, cmd); rerr != nil {
		return cmd, nil, rerr
	}
	if rerr := d.spendCounter(ctx, cmd); rerr != nil {
		return cmd, nil, rerr
	}
	return cmd, route.bind(cmd), nil
}

// open verifies and decodes a payload; with no keys it refuses everything,
// unless unsigned commands are allowed (development only).
func (d *Dispatcher) open(payload []byte) (contract.Command, error) {
	if len(d.cfg.Keys) == 0 && d.cfg.AllowUnsigned {
		return contract.DecodeUnsignedCommand(payload)
	}
	return contract.OpenCommand(payload, d.cfg.Keys)
}

// checkExpiry refuses a command whose expires has passed, only while the
// clock is synchronised: the box may boot in 1970.
func (d *Dispatcher) checkExpiry(ctx context.Context, cmd contract.Command) *contract.ReplyError {
	now := d.cfg.Clock.Now()
	if cmd.Expires.IsZero() || !d.cfg.Clock.Synced() || !now.After(cmd.Expires) {
		return nil
	}
	return d.refuse(ctx, cmd, refusal(contract.ErrExpired, "expired at %s; kiosk time %s",
		cmd.Expires.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339)))
}

// spendCounter records the command's counter in the journal's replay
// window, durably, before the command is acted on, so that the same counter
// is refused even after a crash or a restart. The window
// (kiosk/journal/counter.go) takes counters out of order, so that commands
// overtaken on their way, or sent by two platform services, are still
// applied.
func (d *Dispatcher) spendCounter(ctx context.Context, cmd contract.Command) *contract.ReplyError {
	seen, err := d.cfg.Journal.AdmitCommand(cmd.Counter, cmd.ID)
	switch {
	case errors.Is(err, journal.ErrSeenCounter) && seen.SameID(cmd.ID):
		// The same command again while its first copy is under way:
		// firstReply caught every other re-send before it came here.
		return refusal(contract.ErrDuplicate, "command %s (counter %d) was accepted already; not applied again", cmd.ID, cmd.Counter)
	case errors.Is(err, journal.ErrSeenCounter):
		return d.refuse(ctx, cmd, refusal(contract.ErrReplayed, "counter %d was accepted already for another command", cmd.Counter))
	case errors.Is(err, journal.ErrStaleCounter):
		return d.refuse(ctx, cmd, refusal(contract.ErrReplayed, "counter %d is spent: accepted before, or %d newer commands were accepted since (%v)", cmd.Counter, journal.CommandWindow, err))
	case err != nil:
		return &contract.ReplyError{Code: contract.ErrInternal, Message: err.Error()}
	}
	return nil
}

func refusal(code, format string, args ...any) *contract.ReplyError {
	return &contract.ReplyError{Code: code, Message: fmt.Sprintf(format, args...)}
}
