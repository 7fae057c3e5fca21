package upkeep

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"kioskd/cloudlink/contract"
	"kioskd/firmware/update"
	"kioskd/kiosk"
)

// Arch is this binary's architecture as release signatures name it (the
// Debian names: amd64, arm64, armhf).
func Arch() string {
	if runtime.GOARCH == "arm" {
		return "armhf"
	}
	return runtime.GOARCH
}

// accept checks an update command before anything is downloaded: what it
// can refuse from the command alone, it refuses now, with a reply that
// says why and an update.rejected event.
func (u *Upkeep) accept(ctx context.Context, cmd string, a contract.UpdateArgs) *contract.ReplyError {
	if reason, detail := u.refusal(a); reason != "" {
		return u.reject(ctx, cmd, a, reason, detail)
	}
	if !u.updating.CompareAndSwap(false, true) {
		return u.reject(ctx, cmd, a, contract.UpdateBusy, "another update is under way")
	}
	job := updateJob{cmd: cmd, args: a}
	select {
	case u.updates <- job:
	default: // cannot happen while updating was false; be safe
		u.updating.Store(false)
		return u.reject(ctx, cmd, a, contract.UpdateBusy, "another update is under way")
	}
	u.cfg.Log.Info("update accepted", "command", cmd, "version", a.Version, "url", a.URL)
	return nil
}

// refusal is the reason, and its detail, to refuse an update outright.
func (u *Upkeep) refusal(a contract.UpdateArgs) (reason, detail string) {
	if p, err := url.Parse(a.URL); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
		return contract.UpdateBadArgs, fmt.Sprintf("url %q is not http(s)://", a.URL)
	}
	if a.Version == "" || len(a.SHA256) != 64 || strings.ToLower(a.SHA256) != a.SHA256 || a.Size <= 0 || a.Size > update.MaxSize {
		return contract.UpdateBadArgs, fmt.Sprintf("version, sha256 (64 lower-case hex digits) and size (1 to %d) are required", update.MaxSize)
	}
	if a.Arch != Arch() {
		return contract.UpdateWrongArch, fmt.Sprintf("the binary is for %q, this kiosk is %s", a.Arch, Arch())
	}
	if err := contract.VerifyRelease(u.cfg.ReleaseKeys, a.Version, a.SHA256, a.Arch, a.Signature); err != nil {
		return contract.UpdateBadSignature, err.Error()
	}
	if reason, detail := u.downgrade(a); reason != "" {
		return reason, detail
	}
	if u.cfg.Slot == "" {
		return contract.UpdateNotLaunched, "kioskd was not started by `kioskd launch`, so it cannot switch binaries; see firmware/dist"
	}
	return u.freshIncident()
}

// downgrade refuses a version not above the running one, unless allowed.
func (u *Upkeep) downgrade(a contract.UpdateArgs) (reason, detail string) {
	if a.AllowDowngrade {
		return "", ""
	}
	c, err := update.CompareVersions(a.Version, u.cfg.Version)
	switch {
	case err != nil:
		return contract.UpdateDowngrade, fmt.Sprintf("cannot order %s after %s (%v); set allow_downgrade to install it anyway", a.Version, u.cfg.Version, err)
	case c <= 0:
		return contract.UpdateDowngrade, fmt.Sprintf("%s is not above the running %s; set allow_downgrade to install it anyway", a.Version, u.cfg.Version)
	}
	return "", ""
}

// freshIncident names a real incident younger than update.quiet_after.
func (u *Upkeep) freshIncident() (reason, detail string) {
	quiet := u.cfg.Update.QuietAfter.Duration
	now := u.cfg.Clock.Now()
	for _, in := range u.cfg.Controller.State().Sorted() {
		if age := now.Sub(in.RegisteredAt); !in.Test && age < quiet {
			return contract.UpdateIncident, fmt.Sprintf("incident %s was registered %s ago; updates wait until %s after the last new incident (update.quiet_after); try again after %s",
				in.ID, age.Round(time.Second), quiet, in.RegisteredAt.Add(quiet).UTC().Format(time.RFC3339))
		}
	}
	return "", ""
}

// runUpdate downloads, verifies and installs an accepted update, then asks
// Run for the restart. Any failure ends it with update.rejected.
func (u *Upkeep) runUpdate(ctx context.Context, job updateJob) {
	a := job.args
	defer func() {
		if ctx.Err() == nil {
			u.updating.Store(false)
		}
	}()
	u.news(ctx, kiosk.EvUpdateDownload, map[string]any{"command": job.cmd, "version": a.Version, "url": a.URL})
	file, reason, err := u.fetch(ctx, a)
	if err != nil {
		if ctx.Err() == nil {
			u.reject(ctx, job.cmd, a, reason, err.Error())
		}
		return
	}
	u.news(ctx, kiosk.EvUpdateVerified, map[string]any{"command": job.cmd, "version": a.Version, "sha256": a.SHA256, "bytes": a.Size})
	if !u.waitQuiet(ctx, job) {
		return
	}
	if err := u.install(ctx, job, file); err != nil {
		u.reject(ctx, job.cmd, a, contract.UpdateInstallFailed, err.Error())
		return
	}
	u.once.Do(func() { close(u.restart) })
}

// fetch downloads the binary and checks it; it returns its path, or the
// reason it is refused.
func (u *Upkeep) fetch(ctx context.Context, a contract.UpdateArgs) (path, reason string, err error) {
	dir := filepath.Join(u.cfg.StateDir, "downloads")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", contract.UpdateDownloadFailed, err
	}
	path = filepath.Join(dir, "kioskd-"+a.SHA256)
	dl := update.Download{URL: a.URL, Dest: path, Size: a.Size, Client: &http.Client{Timeout: 10 * time.Minute},
		Attempts: u.cfg.Update.DownloadAttempts, Backoff: time.Second, Log: u.cfg.Log}
	if err := dl.Run(ctx); err != nil {
		return "", contract.UpdateDownloadFailed, err
	}
	sum, size, err := update.FileSHA256(path)
	switch {
	case err != nil:
		return "", contract.UpdateDownloadFailed, err
	case size != a.Size:
		os.Remove(path)
		return "", contract.UpdateSizeMismatch, fmt.Errorf("%d bytes, the command says %d", size, a.Size)
	case sum != a.SHA256:
		os.Remove(path)
		return "", contract.UpdateSHA256Mismatch, fmt.Errorf("sha256 %s, the command says %s", sum, a.SHA256)
	}
	if err := checkRuns(ctx, path, a.Version); err != nil {
		os.Remove(path)
		return "", contract.UpdateNotRunnable, err
	}
	return path, "", nil
}

// checkRuns runs `BINARY version` and checks the version it reports.
func checkRuns(ctx context.Context, path, version string) error {
	if err := os.Chmod(path, 0o700); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, path, "version").Output()
	if err != nil {
		return fmt.Errorf("`kioskd version` failed: %w", err)
	}
	if got := strings.TrimSpace(string(out)); got != "kioskd "+version {
		return fmt.Errorf("`kioskd version` says %q, want %q", got, "kioskd "+version)
	}
	return nil
}

// waitQuiet holds a verified update while an incident is fresh, saying so
// once. It returns false if ctx ended first.
func (u *Upkeep) waitQuiet(ctx context.Context, job updateJob) bool {
	said := false
	for {
		reason, detail := u.freshIncident()
		if reason == "" {
			return true
		}
		if !said {
			u.news(ctx, kiosk.EvUpdateDeferred, map[string]any{"command": job.cmd, "version": job.args.Version, "reason": reason, "detail": detail})
			said = true
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(2 * time.Second):
		}
	}
}

// install writes the other slot, begins the trial (switching current),
// journals update.installed and gives the link a moment to ship it.
func (u *Upkeep) install(ctx context.Context, job updateJob, file string) error {
	cur, err := u.slots.Current()
	if err != nil {
		return err
	}
	slot := update.Other(cur)
	if err := u.slots.Install(file, slot); err != nil {
		return err
	}
	t := update.Trial{Command: job.cmd, Version: job.args.Version, FromVersion: u.cfg.Version, Slot: slot, FromSlot: cur,
		RequireAck: u.cfg.Online(), CamerasOnline: u.tester.onlineCameras()}
	if err := u.slots.Begin(t); err != nil {
		return err
	}
	os.Remove(file)
	u.cfg.Log.Info("update installed; restarting into it", "version", t.Version, "slot", slot, "from", cur)
	u.news(ctx, kiosk.EvUpdateInstalled, map[string]any{"command": job.cmd, "version": t.Version, "from_version": u.cfg.Version, "slot": slot})
	u.drainOutbox(ctx, 5*time.Second)
	return nil
}

// drainOutbox waits, at most max, until the platform has acked every
// event, so that it hears of the install before the restart.
func (u *Upkeep) drainOutbox(ctx context.Context, max time.Duration) {
	for end := time.Now().Add(max); time.Now().Before(end) && u.cfg.Online(); {
		if n, _, err := u.cfg.Journal.PendingCount(); err != nil || n == 0 {
			return
		}
		sleep(ctx, 50*time.Millisecond)
	}
}
