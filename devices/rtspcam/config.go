package rtspcam

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"kioskd/devices"
)

// Defaults for Config.
const (
	DefaultDialTimeout     = 5 * time.Second
	DefaultReadTimeout     = 10 * time.Second
	DefaultMaxBackoff      = 30 * time.Second
	DefaultMaxPreRollBytes = 64 << 20
)

// Config is one camera, as the parent hands it to `kioskd camera`.
type Config struct {
	Camera string // the camera's id, e.g. "door"
	// URL is rtsp://host[:port]/path, without credentials.
	URL string
	// CredentialsFile, if set, holds "user:password" on its first line.
	// The credentials are put into the RTSP session only, never logged.
	CredentialsFile string
	DialTimeout     time.Duration // TCP connect; always > 0 (vdk fails on 0)
	ReadTimeout     time.Duration // every RTSP read and write; always > 0
	MaxBackoff      time.Duration // the longest wait between two dials
	// PreRoll is how much video the ring keeps before "now"; clip orders
	// asking for more get what the ring holds.
	PreRoll time.Duration
	// MaxPreRollBytes bounds the ring's memory: when it is exceeded, whole
	// oldest GOPs are dropped even if that shortens the pre-roll.
	MaxPreRollBytes int64
	// LiveSocket, if set, is the unix socket the live relay serves this
	// camera's viewers on (relay_listen.go); kioskd picks it.
	LiveSocket string
}

// WithDefaults returns c with zero fields set to their defaults.
func (c Config) WithDefaults() Config {
	if c.DialTimeout <= 0 {
		c.DialTimeout = DefaultDialTimeout
	}
	if c.ReadTimeout <= 0 {
		c.ReadTimeout = DefaultReadTimeout
	}
	if c.MaxBackoff <= 0 {
		c.MaxBackoff = DefaultMaxBackoff
	}
	if c.PreRoll <= 0 {
		c.PreRoll = devices.DefaultPreRoll
	}
	if c.MaxPreRollBytes <= 0 {
		c.MaxPreRollBytes = DefaultMaxPreRollBytes
	}
	return c
}

// Check reports the first thing wrong with c.
func (c Config) Check() error {
	if c.Camera == "" {
		return errors.New("camera: no id")
	}
	u, err := url.Parse(c.URL)
	if err != nil {
		return fmt.Errorf("camera %s: url: %w", c.Camera, err)
	}
	if u.Scheme != "rtsp" && u.Scheme != "rtsps" {
		return fmt.Errorf("camera %s: url must be rtsp:// or rtsps://", c.Camera)
	}
	if u.User != nil {
		return fmt.Errorf("camera %s: url must not carry credentials; use a credentials file", c.Camera)
	}
	return nil
}

// dialURL returns the URL to dial, with the credentials from the file if
// one is configured.
func (c Config) dialURL() (string, error) {
	if c.CredentialsFile == "" {
		return c.URL, nil
	}
	raw, err := os.ReadFile(c.CredentialsFile)
	if err != nil {
		return "", fmt.Errorf("read credentials file: %w", err)
	}
	line, _, _ := strings.Cut(string(raw), "\n")
	user, pass, ok := strings.Cut(strings.TrimRight(line, "\r"), ":")
	if !ok || user == "" {
		return "", fmt.Errorf("credentials file %s: want user:password on the first line", c.CredentialsFile)
	}
	u, err := url.Parse(c.URL)
	if err != nil {
		return "", fmt.Errorf("camera url: %w", err)
	}
	u.User = url.UserPassword(user, pass)
	return u.String(), nil
}
