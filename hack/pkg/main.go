// Command pkg builds the kioskd Debian package for one architecture: a
// static kioskd with its version stamped in, the systemd units, accounts,
// udev rule and maintainer scripts of firmware/dist, and the commented
// example config. It needs Go and dpkg-deb, nothing else.
//
//	go run ./hack/pkg -arch arm64 -version 1.4.0 -out dist/
//	go run ./hack/pkg -arch all -version 1.4.0 -out dist/   # arm64, armhf and amd64
package main

import (
	"flag"
	"fmt"
	"os"
)

func main() {
	arch := flag.String("arch", "", "Debian architecture: arm64, armhf, amd64, or all")
	version := flag.String("version", "", "package and kioskd version, e.g. 1.4.0")
	out := flag.String("out", ".", "directory for the .deb files")
	flag.Parse()
	if err := run(*arch, *version, *out); err != nil {
		fmt.Fprintln(os.Stderr, "pkg:", err)
		os.Exit(1)
	}
}

func run(arch, version, out string) error {
	if arch == "" || version == "" {
		return fmt.Errorf("-arch and -version are required")
	}
	targets := []string{arch}
	if arch == "all" {
		targets = []string{"arm64", "armhf", "amd64"}
	}
	for _, a := range targets {
		deb, err := Package(a, version, out)
		if err != nil {
			return err
		}
		fmt.Println(deb)
	}
	return nil
}
