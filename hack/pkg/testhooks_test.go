package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"kioskd/firmware/testhooks"
)

// hookMarkers are found in a kioskd binary only when the test hooks are
// compiled in: the environment variables they read, their log and error
// texts, and a function that exists only with them (by its name in the
// symbol table that Go keeps even in a stripped binary, for tracebacks).
var hookMarkers = []string{
	testhooks.StallControllerEnv,
	testhooks.WallOffsetEnv,
	"TEST HOOK",
	"TEST BUILD",
	"kioskd/firmware/testhooks.stallAfterFirstPress",
}

// TestReleaseHasNoTestHooks builds kioskd as a release is built (BuildBinary,
// the package's binary) and finds none of the hooks in it. The same build
// with -tags kioskd_testhooks has every one of them, so the markers are
// what the hooks leave in a binary and the test can fail.
func TestReleaseHasNoTestHooks(t *testing.T) {
	dir := t.TempDir()
	release, tagged := filepath.Join(dir, "kioskd"), filepath.Join(dir, "kioskd-testhooks")
	if err := BuildBinary("amd64", "1.0.0", release); err != nil {
		t.Fatal(err)
	}
	if err := goBuild("amd64", "1.0.0", tagged, "-tags", testhooks.Tag); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		path      string
		wantHooks bool
	}{{release, false}, {tagged, true}} {
		bin, err := os.ReadFile(c.path)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range hookMarkers {
			if found := bytes.Contains(bin, []byte(m)); found != c.wantHooks {
				t.Errorf("%s: %q found %v, want %v", filepath.Base(c.path), m, found, c.wantHooks)
			}
		}
	}
}
