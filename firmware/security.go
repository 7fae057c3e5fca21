package firmware

import (
	"crypto/ed25519"
	"fmt"
	"log/slog"
	"os"

	"kioskd/cloudlink"
	"kioskd/cloudlink/contract"
	"kioskd/firmware/config"
)

// Command security, the keys and the link's TLS: the dispatcher
// (firmware/commands) verifies each command's signature, address, counter and
// expiry with the keys read here, and journals every refusal.

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

// linkSecurity fills the link config's TLS files and ack keys, returns the
// command keys for the dispatcher, and warns about a setup that will not
// work or is not safe.
func linkSecurity(cfg *config.Config, lc *cloudlink.Config, log *slog.Logger) ([]ed25519.PublicKey, error) {
	keys, err := loadCommandKeys(cfg.Commands)
	if err != nil {
		return nil, err
	}
	lc.AllowUnsigned = cfg.Commands.AllowUnsigned
	if err := linkAckKeys(cfg, lc, log); err != nil { // see ack_security.go
		return nil, err
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
	return keys, nil
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
