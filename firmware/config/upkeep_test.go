package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestStateDirOfNewerConfig: the launcher finds the state directory in a
// config the strict parser refuses (a key of a newer version).
func TestStateDirOfNewerConfig(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kioskd.toml")
	doc := Example() + "\n[from_a_newer_version]\nkey = 1\n"
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path); err == nil {
		t.Fatal("Load accepted an unknown table; this test needs a config only a newer kioskd reads")
	}
	if got, err := StateDirOf(path); got != "/var/lib/kioskd" || err != nil {
		t.Errorf("StateDirOf() = %q, %v, want /var/lib/kioskd", got, err)
	}
}

func TestReleaseKeyIsNotTheCommandKey(t *testing.T) {
	c := Sim(t.TempDir())
	c.Commands.PublicKeyFiles = []string{"/etc/kioskd/platform.pem"}
	c.Update.PublicKeyFiles = []string{"/etc/kioskd/platform.pem"}
	err := c.Validate()
	if err == nil || !strings.Contains(err.Error(), "update.public_key_files[0]") {
		t.Errorf("Validate() = %v, want update.public_key_files[0] refused", err)
	}
}
