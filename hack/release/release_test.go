package main

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"kioskd/cloudlink/contract"
	"kioskd/firmware/update"
)

// debArch is this machine's architecture as releases name it.
func debArch() string {
	if runtime.GOARCH == "arm" {
		return "armhf"
	}
	return runtime.GOARCH
}

// TestGenkeyThenSign: a key pair from -genkey signs a real binary (this
// test's own) into update args that the public key verifies.
func TestGenkeyThenSign(t *testing.T) {
	dir := t.TempDir()
	keyPath := filepath.Join(dir, "release.key")
	if err := run([]string{"-genkey", keyPath}, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != 0o600 {
		t.Errorf("private key file mode %v, want 0600", got)
	}
	if err := run([]string{"-genkey", keyPath}, &bytes.Buffer{}); err == nil {
		t.Error("-genkey over an existing key: got no error, want a refusal")
	}
	pubPEM, err := os.ReadFile(keyPath + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	pub, err := contract.ParsePublicKeyPEM(pubPEM)
	if err != nil {
		t.Fatal(err)
	}

	binary, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	url := "https://cdn.example/kioskd-1.5.0"
	if err := run([]string{"-key", keyPath, "-version", "1.5.0", "-url", url, binary}, &out); err != nil {
		t.Fatal(err)
	}
	var got contract.UpdateArgs
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("output %q: %v", out.String(), err)
	}
	sum, size, err := update.FileSHA256(binary)
	if err != nil {
		t.Fatal(err)
	}
	if got.URL != url || got.Version != "1.5.0" || got.SHA256 != sum || got.Size != size || got.Arch != debArch() {
		t.Errorf("args %+v; want url %s, version 1.5.0, sha256 %s, size %d, arch %s", got, url, sum, size, debArch())
	}
	if err := contract.VerifyRelease([]ed25519.PublicKey{pub}, got.Version, got.SHA256, got.Arch, got.Signature); err != nil {
		t.Errorf("signature: %v", err)
	}
}

func TestSignRefuses(t *testing.T) {
	_, key, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	binary, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	notELF := filepath.Join(t.TempDir(), "script")
	os.WriteFile(notELF, []byte("#!/bin/sh\n"), 0o755)
	other := map[string]string{"amd64": "arm64", "arm64": "armhf", "armhf": "amd64"}[debArch()]
	good := Release{File: binary, Version: "1.5.0", URL: "https://cdn.example/k"}
	tests := []struct {
		name string
		edit func(*Release)
		want string // in the error
	}{
		{"version not orderable", func(r *Release) { r.Version = "dev" }, "version"},
		{"not http(s)", func(r *Release) { r.URL = "ftp://cdn.example/k" }, "url"},
		{"another arch", func(r *Release) { r.Arch = other }, "binary, not " + other},
		{"not a binary", func(r *Release) { r.File = notELF }, "not a Linux binary"},
		{"no file", func(r *Release) { r.File = notELF + ".missing" }, "not a Linux binary"},
	}
	for _, tt := range tests {
		r := good
		tt.edit(&r)
		_, err := sign(key, r)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: got error %v, want one containing %q", tt.name, err, tt.want)
		}
	}
	if _, err := sign(key, good); err != nil {
		t.Errorf("good release: %v", err)
	}
}
