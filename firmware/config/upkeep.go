package config

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/pelletier/go-toml/v2"
)

// SelfTest says how often the post tests itself (see firmware/upkeep/selftest.go).
type SelfTest struct {
	Every     Duration `toml:"every"`      // between scheduled self-tests
	AckWithin Duration `toml:"ack_within"` // the platform must ack the test call within this
}

// Update governs over-the-air updates (see firmware/upkeep).
type Update struct {
	// PublicKeyFiles are the release keys (Ed25519, PEM "PUBLIC KEY"),
	// absolute paths, distinct from commands.public_key_files. With none,
	// every update is refused.
	PublicKeyFiles   []string `toml:"public_key_files"`
	QuietAfter       Duration `toml:"quiet_after"`       // no update while an incident is younger than this
	TrialDeadline    Duration `toml:"trial_deadline"`    // a new version must pass its self-test within this
	DownloadAttempts int      `toml:"download_attempts"` // connections tried per download
}

func (c *Config) applyUpkeepDefaults() {
	orDuration(&c.SelfTest.Every, 24*time.Hour)
	orDuration(&c.SelfTest.AckWithin, 30*time.Second)
	orDuration(&c.Update.QuietAfter, 10*time.Minute)
	orDuration(&c.Update.TrialDeadline, 5*time.Minute)
	if c.Update.DownloadAttempts == 0 {
		c.Update.DownloadAttempts = 5
	}
}

func (c *Config) validateUpkeep(ps *problems) {
	ps.within("selftest.every", c.SelfTest.Every, time.Minute, 30*24*time.Hour)
	ps.within("selftest.ack_within", c.SelfTest.AckWithin, time.Second, 10*time.Minute)
	u := c.Update
	for i, p := range u.PublicKeyFiles {
		key := fmt.Sprintf("update.public_key_files[%d]", i)
		ps.absolute(key, p, "/etc/kioskd/release-key.pem")
		if slices.Contains(c.Commands.PublicKeyFiles, p) {
			ps.add(key, "%q is also a command key; the release key must be another key, kept offline by whoever builds releases", p)
		}
	}
	ps.within("update.quiet_after", u.QuietAfter, time.Second, 24*time.Hour)
	ps.within("update.trial_deadline", u.TrialDeadline, 5*time.Second, time.Hour)
	if u.DownloadAttempts < 1 || u.DownloadAttempts > 100 {
		ps.add("update.download_attempts", "%d is out of range; use 1 to 100 (default 5)", u.DownloadAttempts)
	}
}

// StateDirOf reads only kiosk.state_dir from the config file at path,
// leniently: `kioskd launch` of an older packaged binary must find the
// slots even in a config written for the newer version it starts.
func StateDirOf(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("config: %w", err)
	}
	var c struct {
		Kiosk struct {
			StateDir string `toml:"state_dir"`
		} `toml:"kiosk"`
	}
	if err := toml.Unmarshal(data, &c); err != nil {
		return "", fmt.Errorf("config %s: not valid TOML: %w", path, err)
	}
	if !filepath.IsAbs(c.Kiosk.StateDir) {
		return "", fmt.Errorf("config %s: kiosk.state_dir %q is not an absolute path", path, c.Kiosk.StateDir)
	}
	return c.Kiosk.StateDir, nil
}
