package firmware

import (
	"cmp"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"kioskd/cloudlink"
	"kioskd/cloudlink/contract"
	"kioskd/firmware/config"
	"kioskd/kiosk"
	"kioskd/kiosk/journal"
)

// Command security, the kiosk's half: cloudlink verifies a command's
// signature and address; the bridge refuses replayed and expired commands,
// records the counter of each accepted one in the journal before acting on
// it, and journals every refusal as a security.command_refused event.

// loadCommandKeys reads the platform's command keys. A key that cannot be
// read stops the start: it is deployed with the config, and a kiosk that
// silently refused every command would look healthy.
func loadCommandKeys(c config.Commands) ([]ed25519.PublicKey, error) {
	var keys []ed25519.PublicKey
	for _, path := range c.PublicKeyFiles {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("commands.public_key_files: %w", err)
		}
		k, err := contract.ParsePublicKeyPEM(b)
		if err != nil {
			return nil, fmt.Errorf("commands.public_key_files: %s: %w", path, err)
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// linkSecurity fills the link config's TLS files and command keys, and warns
// about a setup that will not work or is not safe.
func linkSecurity(cfg *config.Config, lc *cloudlink.Config, log *slog.Logger) error {
	keys, err := loadCommandKeys(cfg.Commands)
	if err != nil {
		return err
	}
	lc.CommandKeys, lc.AllowUnsigned = keys, cfg.Commands.AllowUnsigned
	if err := linkAckKeys(cfg, lc, log); err != nil { // see ack_security.go
		return err
	}
	lc.TLS = cloudlink.TLSFiles{CAFile: cfg.MQTT.CAFile, CertFile: cfg.MQTT.CertFile, KeyFile: cfg.MQTT.KeyFile}
	switch {
	case len(keys) == 0 && cfg.Commands.AllowUnsigned:
		log.Warn("ACCEPTING UNSIGNED PLATFORM COMMANDS (commands.allow_unsigned): anyone who can publish to the broker can command this kiosk; development only")
	case len(keys) == 0:
		log.Warn("no command keys configured (commands.public_key_files): every platform command will be refused")
	}
	if cfg.MQTT.PlainBroker() {
		log.Warn("plain MQTT (mqtt.allow_plain): alarms cross the network unencrypted; lab and test brokers only", "broker", cfg.MQTT.Broker)
	}
	checkClientCert(lc.TLS, cfg.Kiosk.ID, log)
	return nil
}

// checkClientCert warns when the client certificate is unusable or names
// another kiosk: a broker set up as in cloudlink/SECURITY.md takes its CN as
// the kiosk's identity and would refuse this kiosk's topics.
func checkClientCert(files cloudlink.TLSFiles, kioskID string, log *slog.Logger) {
	if files.CertFile == "" {
		return
	}
	cn, err := files.ClientCN()
	switch {
	case err != nil:
		log.Error("TLS CLIENT CERTIFICATE UNUSABLE: the broker will refuse this kiosk until it is fixed; retrying at every connect",
			"cert_file", files.CertFile, "err", err)
	case cn != kioskID:
		log.Error("TLS CLIENT CERTIFICATE DOES NOT MATCH THIS KIOSK: its CN must be the kiosk id, or the broker's ACL refuses this kiosk's topics",
			"cert_cn", cn, "kiosk_id", kioskID, "cert_file", files.CertFile)
	}
}

// admitCommand refuses an expired or replayed command; for any other it
// records the counter in the journal's replay window, durably, before the
// command is acted on, so that the same counter is refused even after a
// crash or a restart. The window (kiosk/journal/counter.go) takes counters
// out of order, so that commands overtaken on their way, or sent by two
// platform services, are still applied.
func (b *bridge) admitCommand(ctx context.Context, cmd contract.Command) *contract.ReplyError {
	if now := b.clock.Now(); !cmd.Expires.IsZero() && b.clock.Synced() && now.After(cmd.Expires) {
		return b.refuse(ctx, cmd, contract.ErrExpired, fmt.Sprintf("expired at %s; kiosk time %s", cmd.Expires.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339)))
	}
	seen, err := b.journal.AdmitCommand(cmd.Counter, cmd.ID)
	switch {
	case errors.Is(err, journal.ErrSeenCounter) && seen.SameID(cmd.ID):
		// The same command again while its first copy is under way: Answer
		// caught every other re-send before it came here.
		return &contract.ReplyError{Code: contract.ErrDuplicate, Message: fmt.Sprintf("command %s (counter %d) was accepted already; not applied again", cmd.ID, cmd.Counter)}
	case errors.Is(err, journal.ErrSeenCounter):
		return b.refuse(ctx, cmd, contract.ErrReplayed, fmt.Sprintf("counter %d was accepted already for another command", cmd.Counter))
	case errors.Is(err, journal.ErrStaleCounter):
		return b.refuse(ctx, cmd, contract.ErrReplayed, fmt.Sprintf("counter %d is spent: accepted before, or %d newer commands were accepted since (%v)", cmd.Counter, journal.CommandWindow, err))
	case err != nil:
		return &contract.ReplyError{Code: contract.ErrInternal, Message: err.Error()}
	}
	return nil
}

// refuse journals a refusal and returns the reply error for it.
func (b *bridge) refuse(ctx context.Context, cmd contract.Command, code, msg string) *contract.ReplyError {
	rerr := &contract.ReplyError{Code: code, Message: msg}
	b.CommandRefused(ctx, cmd, rerr)
	return rerr
}

// CommandRefused journals a refused command as a security event (it is
// cloudlink's CommandRefuser). At most refusalsPerMinute are journaled: a
// flood of forged commands must not fill the journal, whose critical events
// are never dropped; the rest are only logged and counted.
func (b *bridge) CommandRefused(ctx context.Context, cmd contract.Command, rerr *contract.ReplyError) {
	b.log.Warn("command refused", "code", rerr.Code, "command", cmd.ID, "name", cmd.Name,
		"counter", cmd.Counter, "addressed_to", cmd.Kiosk, "reason", rerr.Message)
	if !b.refusals.allow(time.Now(), b.log) {
		return
	}
	_, err := b.controller.Submit(ctx, kiosk.CommandRefused{
		Code: rerr.Code, Message: rerr.Message, Command: cmd.ID, Name: cmd.Name,
		Counter: cmd.Counter, AddressedTo: cmd.Kiosk,
	})
	if err != nil {
		b.log.Error("journal refused command", "command", cmd.ID, "err", err)
	}
}

const refusalsPerMinute = 30

// refusalLimit counts refusals journaled in the current minute.
type refusalLimit struct {
	what       string // what is refused, for the log: "commands" when empty
	mu         sync.Mutex
	start      time.Time
	n          int
	suppressed int
}

func (r *refusalLimit) allow(now time.Time, log *slog.Logger) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if now.Sub(r.start) >= time.Minute || now.Before(r.start) {
		if r.suppressed > 0 {
			log.Warn("refused "+cmp.Or(r.what, "commands")+" not journaled: more than the limit per minute", "count", r.suppressed, "limit", refusalsPerMinute)
		}
		r.start, r.n, r.suppressed = now, 0, 0
	}
	if r.n >= refusalsPerMinute {
		r.suppressed++
		return false
	}
	r.n++
	return true
}
