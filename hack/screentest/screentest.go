// Package screentest drives a real headless Chromium (Debian's chromium, via
// chromedp) for the screens' end-to-end tests, and keeps their screenshots.
//
//	ctx := screentest.Browser(t, 1920, 1080)
//	chromedp.Run(ctx, chromedp.Navigate(url), ...)
//	screentest.Screenshot(t, ctx, "idle")
package screentest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// Chromium is where Debian installs the browser.
const Chromium = "/usr/bin/chromium"

// RequireChromium skips the test when Chromium is missing, or fails it with
// CI=true: CI never skips a browser test silently.
func RequireChromium(t testing.TB) string {
	t.Helper()
	path := Chromium
	if _, err := os.Stat(path); err != nil {
		if p, err := exec.LookPath("chromium"); err == nil {
			path = p
		} else if os.Getenv("CI") != "" {
			t.Fatalf("chromium not installed (apt-get install chromium): %v", err)
		} else {
			t.Skipf("chromium not installed (apt-get install chromium): %v", err)
		}
	}
	return path
}

// Browser starts a fresh headless Chromium with its own profile and a
// width×height window, and returns a tab's context. The browser ends with
// the test. Audio may play without a gesture, as in the kiosk's own browser.
func Browser(t testing.TB, width, height int) context.Context {
	t.Helper()
	profile, err := os.MkdirTemp("", "screentest-chromium-")
	if err != nil {
		t.Fatalf("browser profile: %v", err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(RequireChromium(t)),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"),
		// A kiosk's screen is always in front. Several headless browsers
		// on a busy machine (tests run in parallel) must not have their
		// timers and renderers throttled as background pages: a frozen
		// clock or an EventSource error handled late is not what a test
		// means to see.
		chromedp.Flag("disable-background-timer-throttling", true),
		chromedp.Flag("disable-backgrounding-occluded-windows", true),
		chromedp.Flag("disable-renderer-backgrounding", true),
		chromedp.Flag("disable-audio-output", true), // a null sink: prompts play and end without a sound card
		chromedp.Flag("lang", "zh-CN"),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(width, height),
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(alloc, chromedp.WithErrorf(quietErrorf(t)))
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc()
		os.RemoveAll(profile) // Chromium may still be writing as it exits: best effort
	})
	// The first Run starts the browser and ties it to its context: not a
	// short-lived one, or the browser dies with it.
	if err := chromedp.Run(ctx, chromedp.EmulateViewport(int64(width), int64(height))); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// OutputDir is where a test keeps its screenshots: $TEST_OUTPUT_DIR/<test>
// if set (kept after the run), else a temporary directory.
func OutputDir(t testing.TB) string {
	t.Helper()
	base := os.Getenv("TEST_OUTPUT_DIR")
	if base == "" {
		return t.TempDir()
	}
	dir := filepath.Join(base, regexp.MustCompile(`[^A-Za-z0-9_.-]+`).ReplaceAllString(t.Name(), "_"))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("test output dir: %v", err)
	}
	return dir
}

// Screenshot saves the visible page as dir/name.png and returns the path.
func Screenshot(t testing.TB, ctx context.Context, dir, name string) string {
	t.Helper()
	var png []byte
	if err := chromedp.Run(ctx, chromedp.CaptureScreenshot(&png)); err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	path := filepath.Join(dir, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	t.Logf("screenshot %s", path)
	return path
}

// quietErrorf logs chromedp's errors to the test, except the ones that only
// say this Chromium is newer than chromedp's protocol tables.
func quietErrorf(t testing.TB) func(string, ...any) {
	return func(format string, args ...any) {
		msg := fmt.Sprintf(format, args...)
		if strings.Contains(msg, "could not unmarshal event") {
			return
		}
		t.Logf("chromedp: %s", msg)
	}
}
