package main

import (
	"crypto/ed25519"
	"debug/elf"
	"errors"
	"fmt"
	"net/url"
	"os"

	"kioskd/cloudlink/contract"
	"kioskd/firmware/update"
)

// Release is one binary to sign.
type Release struct {
	File    string // the kioskd binary
	Version string // as it reports it
	Arch    string // amd64, arm64, armhf; empty: from the ELF header
	URL     string // where kiosks download it
}

// sign checks the release and returns the update args for it, signed with
// key over contract.ReleaseMessage.
func sign(key ed25519.PrivateKey, r Release) (contract.UpdateArgs, error) {
	if _, err := update.CompareVersions(r.Version, r.Version); err != nil {
		return contract.UpdateArgs{}, fmt.Errorf("version %q: kiosks order versions as MAJOR.MINOR.PATCH[-PRE]: %w", r.Version, err)
	}
	if u, err := url.Parse(r.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return contract.UpdateArgs{}, fmt.Errorf("url %q: want http:// or https://", r.URL)
	}
	arch, err := elfArch(r.File)
	if err != nil {
		return contract.UpdateArgs{}, err
	}
	if r.Arch != "" && r.Arch != arch {
		return contract.UpdateArgs{}, fmt.Errorf("%s is an %s binary, not %s", r.File, arch, r.Arch)
	}
	sum, size, err := update.FileSHA256(r.File)
	if err != nil {
		return contract.UpdateArgs{}, fmt.Errorf("hash %s: %w", r.File, err)
	}
	a := contract.UpdateArgs{URL: r.URL, Version: r.Version, SHA256: sum, Size: size, Arch: arch}
	if a.Signature, err = contract.SignRelease(key, a.Version, a.SHA256, a.Arch); err != nil {
		return contract.UpdateArgs{}, err
	}
	return a, nil
}

// elfArch names a Linux binary's architecture as releases do (the Debian
// names), so that an arm64 build is never signed as armhf.
func elfArch(path string) (string, error) {
	f, err := elf.Open(path)
	if err != nil {
		return "", fmt.Errorf("%s: not a Linux binary: %w", path, err)
	}
	defer f.Close()
	switch {
	case f.Machine == elf.EM_X86_64:
		return "amd64", nil
	case f.Machine == elf.EM_AARCH64:
		return "arm64", nil
	case f.Machine == elf.EM_ARM && f.Class == elf.ELFCLASS32:
		return "armhf", nil
	}
	return "", fmt.Errorf("%s: a %v binary; kiosks run amd64, arm64 or armhf", path, f.Machine)
}

// readKey reads the release private key.
func readKey(path string) (ed25519.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("release key: %w", err)
	}
	key, err := contract.ParsePrivateKeyPEM(b)
	if err != nil {
		return nil, fmt.Errorf("release key %s: %w", path, err)
	}
	return key, nil
}

// writeKeyPair writes a new key pair to path (0600) and path.pub, never
// over an existing file.
func writeKeyPair(path string) error {
	pub, priv, err := contract.GenerateKeyPEM()
	if err != nil {
		return err
	}
	if _, err := os.Stat(path + ".pub"); !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("%s.pub exists; not overwriting a key", path)
	}
	if err := writeNew(path, priv, 0o600); err != nil {
		return err
	}
	return writeNew(path+".pub", pub, 0o644)
}

// writeNew writes a file that must not exist yet.
func writeNew(path string, data []byte, perm os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return fmt.Errorf("write key: %w", err)
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write key %s: %w", path, err)
	}
	return nil
}
