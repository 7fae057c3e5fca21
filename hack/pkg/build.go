package main

import (
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"kioskd/firmware/config"
	"kioskd/firmware/dist"
)

// arches maps a Debian architecture to the Go target that runs on it.
var arches = map[string][]string{
	"amd64": {"GOARCH=amd64"},
	"arm64": {"GOARCH=arm64"},
	"armhf": {"GOARCH=arm", "GOARM=7"},
}

// debVersion is what dpkg accepts as an upstream version without epoch.
var debVersion = regexp.MustCompile(`^[0-9][A-Za-z0-9.+~]*(-[A-Za-z0-9.+~]+)?$`)

// exampleConfig is where the commented example config lands on the box.
const exampleConfig = "/etc/kioskd/kioskd.toml.example"

// Package builds kioskd_VERSION_ARCH.deb in outDir and returns its path.
func Package(arch, version, outDir string) (string, error) {
	if _, ok := arches[arch]; !ok {
		return "", fmt.Errorf("arch %q: want amd64, arm64 or armhf", arch)
	}
	if !debVersion.MatchString(version) {
		return "", fmt.Errorf("version %q: want a Debian version such as 1.4.0 or 1.4.0-rc1", version)
	}
	stage, err := os.MkdirTemp("", "kioskd-pkg-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(stage)
	if err := os.Chmod(stage, 0o755); err != nil { // the package's "/"
		return "", err
	}
	if err := BuildBinary(arch, version, filepath.Join(stage, "usr/bin/kioskd")); err != nil {
		return "", err
	}
	if err := stageFiles(stage); err != nil {
		return "", err
	}
	if err := writeControl(stage, arch, version); err != nil {
		return "", err
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return "", err
	}
	deb := filepath.Join(outDir, fmt.Sprintf("kioskd_%s_%s.deb", version, arch))
	out, err := exec.Command("dpkg-deb", "--build", "--root-owner-group", "-Zxz", "-z1", stage, deb).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("dpkg-deb --build: %w\n%s", err, out)
	}
	return deb, nil
}

// BuildBinary builds a static kioskd for arch with its version stamped in.
// It must run inside the kioskd module. It sets no build tag: the test
// hooks (firmware/testhooks) stay out of a release.
func BuildBinary(arch, version, dest string) error {
	return goBuild(arch, version, dest)
}

// goBuild is BuildBinary with more go build flags; only tests pass any.
func goBuild(arch, version, dest string, flags ...string) error {
	if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
		return err
	}
	args := append([]string{"build", "-trimpath", "-o", dest}, flags...)
	args = append(args, "-ldflags", "-s -w -X kioskd/firmware.Version="+version, "kioskd/firmware/cmd/kioskd")
	cmd := exec.Command("go", args...)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	cmd.Env = append(cmd.Env, arches[arch]...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build kioskd for %s: %w\n%s", arch, err, out)
	}
	return nil
}

// stageFiles writes the units, accounts, udev rule, example config and the
// directories of /etc/kioskd into the package root.
func stageFiles(stage string) error {
	for _, f := range dist.Installed {
		data, err := dist.Files.ReadFile(f.Src)
		if err != nil {
			return err
		}
		if err := writeFile(stage, f.Dest, data, fs.FileMode(f.Mode)); err != nil {
			return err
		}
	}
	if err := writeFile(stage, exampleConfig, []byte(config.Example()), 0o644); err != nil {
		return err
	}
	// Certificates that are not secret go in tls/; secrets in credentials/,
	// root only (see LoadCredential= in kioskd.service).
	if err := os.MkdirAll(filepath.Join(stage, "etc/kioskd/tls"), 0o755); err != nil {
		return err
	}
	return os.MkdirAll(filepath.Join(stage, "etc/kioskd/credentials"), 0o700)
}

func writeFile(stage, dest string, data []byte, mode fs.FileMode) error {
	path := filepath.Join(stage, dest)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(path, data, mode); err != nil {
		return err
	}
	return os.Chmod(path, mode) // WriteFile's mode passes through the umask
}

// writeControl writes DEBIAN/: control, conffiles, md5sums and the
// maintainer scripts.
func writeControl(stage, arch, version string) error {
	sums, size, err := md5sums(stage)
	if err != nil {
		return err
	}
	control := fmt.Sprintf(`Package: kioskd
Version: %s
Architecture: %s
Maintainer: kioskd developers <kioskd@localhost>
Installed-Size: %d
Depends: systemd (>= 252)
Recommends: cage, chromium
Section: misc
Priority: optional
Description: controller of a co-governance police post
 kioskd reads the post's call buttons, journals every event on its own disk
 before anyone is told, drives the lights, and relays alarms to the police
 platform over MQTT until the platform acknowledges them. The package runs
 it under systemd (watchdog, restart, hardening) and shows the citizen
 screen in Chromium, in kiosk mode under cage, on the attached display.
`, version, arch, (size+1023)/1024)
	files := map[string]string{
		"control":   control,
		"conffiles": exampleConfig + "\n",
		"md5sums":   sums,
	}
	for name, text := range files {
		if err := writeFile(stage, "DEBIAN/"+name, []byte(text), 0o644); err != nil {
			return err
		}
	}
	for _, name := range dist.MaintainerScripts {
		data, err := dist.Files.ReadFile("debian/" + name)
		if err != nil {
			return err
		}
		if err := writeFile(stage, "DEBIAN/"+name, data, 0o755); err != nil {
			return err
		}
	}
	return nil
}

// md5sums lists every regular file in dpkg's md5sums format and adds up
// their sizes.
func md5sums(stage string) (string, int64, error) {
	var lines []string
	var size int64
	err := filepath.WalkDir(stage, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		size += int64(len(data))
		sum := md5.Sum(data)
		rel, _ := filepath.Rel(stage, path)
		lines = append(lines, hex.EncodeToString(sum[:])+"  "+filepath.ToSlash(rel))
		return nil
	})
	sort.Strings(lines)
	return strings.Join(lines, "\n") + "\n", size, err
}
