// Package dist holds what a box needs beside the kioskd binary: the systemd
// units of kioskd and of the citizen screen's browser, the accounts, the
// udev rule for GPIO and the Debian maintainer scripts. hack/pkg puts them
// into a package, with the binary and the example config
// (firmware/config/example.toml) as /etc/kioskd/kioskd.toml.example.
package dist

import "embed"

// Files is every file of this directory but this one.
//
//go:embed kioskd.service kiosk-browser.service kioskd.sysusers 60-kioskd-gpio.rules debian
var Files embed.FS

// File is one file a package installs.
type File struct {
	Src  string // path in Files
	Dest string // absolute path on the box
	Mode uint32
}

// Installed lists where each file of Files goes on the box; hack/pkg adds
// the binary and the example config.
var Installed = []File{
	{"kioskd.service", "/usr/lib/systemd/system/kioskd.service", 0o644},
	{"kiosk-browser.service", "/usr/lib/systemd/system/kiosk-browser.service", 0o644},
	{"kioskd.sysusers", "/usr/lib/sysusers.d/kioskd.conf", 0o644},
	{"60-kioskd-gpio.rules", "/usr/lib/udev/rules.d/60-kioskd-gpio.rules", 0o644},
}

// MaintainerScripts are the files of debian/ that go into DEBIAN/.
var MaintainerScripts = []string{"postinst", "prerm", "postrm"}
