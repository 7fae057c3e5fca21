// Command release signs a kioskd binary for the over-the-air update: it
// prints the update command's args (contract.UpdateArgs as JSON: url,
// version, sha256, size, arch and the release key's signature), ready for
// the station console's rollout or any platform to send.
//
//	go run ./hack/release -genkey release.key      # release.key (keep it offline) and release.key.pub (for the kiosks)
//	go run ./hack/release -key release.key -version 1.5.0 -arch arm64 -url https://cdn.example/kioskd-1.5.0-arm64 FILE
//
// The release key is not the station's command key: kiosks trust it
// through update.public_key_files (see cloudlink/contract/doc.md, "Updates").
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "release:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("release", flag.ContinueOnError)
	genkey := fs.String("genkey", "", "write a new release key pair to this file and FILE.pub, then exit")
	keyFile := fs.String("key", "", "the release private key (PEM, PKCS#8 Ed25519)")
	version := fs.String("version", "", "the binary's version, e.g. 1.5.0 (what `FILE version` prints)")
	arch := fs.String("arch", "", "amd64, arm64 or armhf (default: read from the ELF header)")
	url := fs.String("url", "", "http(s):// URL the kiosks will download FILE from")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *genkey != "" {
		if err := writeKeyPair(*genkey); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "release key: %s (keep it offline)\npublic key for update.public_key_files: %s.pub\n", *genkey, *genkey)
		return nil
	}
	if fs.NArg() != 1 || *keyFile == "" || *version == "" || *url == "" {
		return errors.New("usage: release -key KEY -version V [-arch A] -url URL FILE, or release -genkey KEY")
	}
	key, err := readKey(*keyFile)
	if err != nil {
		return err
	}
	a, err := sign(key, Release{File: fs.Arg(0), Version: *version, Arch: *arch, URL: *url})
	if err != nil {
		return err
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(a)
}
