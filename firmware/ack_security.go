package firmware

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"log/slog"
	"os"
	"time"

	"kioskd/cloudlink"
	"kioskd/cloudlink/contract"
	"kioskd/firmware/config"
	"kioskd/kiosk"
)

// Ack security, the kiosk's half: cloudlink verifies every ack (signature,
// kiosk, boot) before anything leaves the outbox; the bridge journals each
// refusal as a security.ack_refused event, a few a minute at most.

// linkAckKeys fills the link config's ack keys: acks.public_key_files, or
// else the command keys. A key that cannot be read stops the start, as a
// command key does: a kiosk that silently refused every ack would re-send
// every alarm for ever and look healthy.
func linkAckKeys(cfg *config.Config, lc *cloudlink.Config, log *slog.Logger) error {
	name := "acks.public_key_files"
	if len(cfg.Acks.PublicKeyFiles) == 0 {
		name = "commands.public_key_files"
	}
	keys, err := loadKeys(name, cfg.AckKeyFiles())
	if err != nil {
		return err
	}
	lc.AckKeys = keys
	switch {
	case len(keys) == 0 && cfg.Commands.AllowUnsigned:
		log.Warn("ACCEPTING UNSIGNED PLATFORM ACKS (commands.allow_unsigned): anyone who can publish to the broker can take alarms out of the outbox; development only")
	case len(keys) == 0:
		log.Error("NO ACK KEYS (acks.public_key_files, commands.public_key_files): every ack will be refused, and every alarm re-sent for ever")
	}
	return nil
}

// loadKeys reads Ed25519 public keys (PEM) from files; name is the config
// key they come from, for the error.
func loadKeys(name string, files []string) ([]ed25519.PublicKey, error) {
	var keys []ed25519.PublicKey
	for _, path := range files {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		k, err := contract.ParsePublicKeyPEM(b)
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", name, path, err)
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// AckRefused journals an ack the link refused as a security event (it is
// cloudlink's Kiosk). At most commands.RefusalsPerMinute are journaled and logged: a
// flood of forged acks must not fill the journal, whose critical events are
// never dropped, nor the log; the link counts them all in the heartbeat.
func (b *bridge) AckRefused(ctx context.Context, a contract.Ack, aerr *contract.AckError) {
	if !b.ackRefusals.Allow(time.Now(), b.log) {
		return
	}
	b.log.Warn("ack refused", "code", aerr.Code, "addressed_to", a.Kiosk, "boot_epoch", a.BootEpoch,
		"ids", len(a.IDs), "reason", aerr.Message)
	_, err := b.controller.Submit(ctx, kiosk.AckRefused{
		Code: aerr.Code, Message: aerr.Message, AddressedTo: a.Kiosk, BootEpoch: a.BootEpoch, IDCount: len(a.IDs),
	})
	if err != nil && ctx.Err() == nil {
		b.log.Error("journal refused ack", "code", aerr.Code, "err", err)
	}
}
