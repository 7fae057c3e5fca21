package config

import (
	"fmt"
	"net/url"
	"path/filepath"
	"slices"
)

// Commands says which platform keys may command this post.
type Commands struct {
	// PublicKeyFiles are Ed25519 public keys (PEM "PUBLIC KEY"), absolute
	// paths; a command signed by any of them is accepted. Two while keys
	// rotate. With none, every command is refused.
	PublicKeyFiles []string `toml:"public_key_files"`
	// AllowUnsigned accepts commands without a valid signature, when no key
	// is configured. Development only.
	AllowUnsigned bool `toml:"allow_unsigned"`
}

// Acks says which platform keys may take events out of the outbox.
type Acks struct {
	// PublicKeyFiles are Ed25519 public keys (PEM "PUBLIC KEY"), absolute
	// paths: an ack removes events from the outbox only if one of them
	// verifies its signature. Two while keys rotate. Empty: the command
	// keys (commands.public_key_files). Set it when the service that stores
	// events is not the one that sends commands, so that neither holds the
	// other's key.
	PublicKeyFiles []string `toml:"public_key_files"`
}

// AckKeyFiles are the keys acks are checked with: acks.public_key_files,
// or else the command keys.
func (c *Config) AckKeyFiles() []string {
	if len(c.Acks.PublicKeyFiles) > 0 {
		return c.Acks.PublicKeyFiles
	}
	return c.Commands.PublicKeyFiles
}

// PlainBroker reports whether the broker URL is plain TCP (tcp://, mqtt://).
func (m MQTT) PlainBroker() bool {
	u, err := url.Parse(m.Broker)
	return err == nil && (u.Scheme == "tcp" || u.Scheme == "mqtt")
}

// validateSecurity checks the broker's TLS files and the command and ack keys.
func (c *Config) validateSecurity(ps *problems) {
	m := c.MQTT
	if m.PlainBroker() && !m.AllowPlain {
		u, _ := url.Parse(m.Broker)
		ps.add("mqtt.broker", "%q is plain TCP: alarms cross the network readable and changeable by anyone on the path; "+
			"use TLS, e.g. \"ssl://%s:8883\" with mqtt.ca_file, cert_file and key_file, "+
			"or, for a lab or test broker only, set mqtt.allow_plain = true", m.Broker, u.Hostname())
	}
	files := []struct{ key, path string }{{"mqtt.ca_file", m.CAFile}, {"mqtt.cert_file", m.CertFile}, {"mqtt.key_file", m.KeyFile}}
	for _, f := range files {
		if f.path == "" {
			continue
		}
		ps.absolute(f.key, f.path, "/etc/kioskd/tls/"+filepath.Base(f.path))
		if m.PlainBroker() {
			ps.add(f.key, "is set but mqtt.broker %q is plain TCP, so it would not be used; use an ssl:// broker", m.Broker)
		}
	}
	if (m.CertFile == "") != (m.KeyFile == "") {
		ps.add("mqtt.cert_file", "cert_file and key_file go together: set both (this kiosk's certificate and its key), or neither")
	}
	cmds := c.Commands
	for i, p := range cmds.PublicKeyFiles {
		key := fmt.Sprintf("commands.public_key_files[%d]", i)
		ps.absolute(key, p, "/etc/kioskd/platform-key.pem")
		if slices.Index(cmds.PublicKeyFiles, p) < i {
			ps.add(key, "%q is listed twice", p)
		}
	}
	if cmds.AllowUnsigned && len(cmds.PublicKeyFiles) > 0 {
		ps.add("commands.allow_unsigned", "is true but public_key_files are set; unsigned commands are for development only: remove allow_unsigned")
	}
	c.validateAckKeys(ps)
}

// validateAckKeys checks acks.public_key_files like the command keys.
func (c *Config) validateAckKeys(ps *problems) {
	files := c.Acks.PublicKeyFiles
	for i, p := range files {
		key := fmt.Sprintf("acks.public_key_files[%d]", i)
		ps.absolute(key, p, "/etc/kioskd/platform-ack-key.pem")
		if slices.Index(files, p) < i {
			ps.add(key, "%q is listed twice", p)
		}
		if slices.Contains(c.Update.PublicKeyFiles, p) {
			ps.add(key, "%q is also a release key (update.public_key_files); the release key must be another key, kept offline by whoever builds releases", p)
		}
	}
	if c.Commands.AllowUnsigned && len(files) > 0 {
		ps.add("acks.public_key_files", "is set but commands.allow_unsigned is true; unsigned acks and commands are for development only: remove allow_unsigned")
	}
}

// absolute checks that a file path is absolute.
func (ps *problems) absolute(key, path, example string) {
	if !filepath.IsAbs(path) {
		ps.add(key, "%q is not an absolute path; write it from the root, e.g. %q", path, example)
	}
}
