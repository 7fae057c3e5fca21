package contract

import (
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"time"
)

// Self-test and over-the-air update. Both are ordinary signed commands; an
// update also carries a release signature, made with a release key that is
// not the command key: a leaked command key can make a kiosk download, but
// never run, a binary the release key did not sign.

// Command names of the self-test and the update.
const (
	CmdSelfTest = "self_test" // SelfTestArgs
	CmdUpdate   = "update"    // UpdateArgs
)

// SelfTestArgs: run a self-test now. The result comes as a self_test.passed
// or self_test.failed event and in the heartbeat's last_self_test.
type SelfTestArgs struct {
	Reason string `json:"reason,omitempty"` // for the record, e.g. "after a repair"
}

// UpdateArgs: download the kioskd binary at URL, check it, install it beside
// the running one and restart into it on trial. Every step is an update.*
// event (see doc.md).
type UpdateArgs struct {
	URL     string `json:"url"`     // http:// or https:// of the binary for this kiosk's arch
	Version string `json:"version"` // the binary's version, e.g. "1.4.0"
	SHA256  string `json:"sha256"`  // hex, of the binary
	Size    int64  `json:"size"`    // bytes
	Arch    string `json:"arch"`    // amd64, arm64 or armhf
	// Signature is base64 of the release key's Ed25519 signature over
	// ReleaseMessage(Version, SHA256, Arch).
	Signature string `json:"signature"`
	// AllowDowngrade permits a version not above the running one.
	AllowDowngrade bool `json:"allow_downgrade,omitempty"`
}

// SelfTest is the result of a self-test: every check with its result.
type SelfTest struct {
	Time       time.Time       `json:"time"`
	OK         bool            `json:"ok"`
	Note       string          `json:"note,omitempty"`    // the failed checks, in a line
	Trigger    string          `json:"trigger,omitempty"` // schedule, command, update_trial
	Version    string          `json:"version,omitempty"` // of kioskd that ran it
	DurationMs int64           `json:"duration_ms,omitempty"`
	Checks     []SelfTestCheck `json:"checks,omitempty"`
}

// SelfTestCheck is one check of a self-test.
type SelfTestCheck struct {
	Name   string `json:"name"`   // test_call, indicators, cameras, disk, journal, alarm_path
	Result string `json:"result"` // passed, failed, skipped
	Detail string `json:"detail,omitempty"`
}

// Self-test check results.
const (
	CheckPassed  = "passed"
	CheckFailed  = "failed"
	CheckSkipped = "skipped"
)

// Reasons in update.rejected and update.rolled_back events.
const (
	UpdateBadArgs         = "bad_args"              // a field missing or malformed
	UpdateWrongArch       = "wrong_arch"            // the binary is for another architecture
	UpdateBadSignature    = "bad_release_signature" // no release key verifies (version, sha256, arch)
	UpdateDowngrade       = "downgrade"             // not above the running version, and allow_downgrade is not set
	UpdateIncident        = "incident_in_progress"  // an incident is in its first minutes
	UpdateBusy            = "busy"                  // another update is under way
	UpdateNotLaunched     = "not_launched"          // kioskd was not started by `kioskd launch`: no A/B slots
	UpdateDownloadFailed  = "download_failed"       // the download failed after bounded retries
	UpdateSizeMismatch    = "size_mismatch"         // the file is not size bytes
	UpdateSHA256Mismatch  = "sha256_mismatch"       // the file's sha256 differs
	UpdateNotRunnable     = "not_runnable"          // the file does not run here or reports another version
	UpdateInstallFailed   = "install_failed"        // the slot could not be written or switched
	UpdateCrashedAtStart  = "crashed_at_start"      // the new version started again and again without passing its trial
	UpdateSelfTestFailed  = "self_test_failed"      // the new version's self-test failed (or the platform did not ack in time)
	UpdateInterrupted     = "install_interrupted"   // a power cut between installing and switching
	UpdatePackageUpgraded = "package_upgraded"      // the Debian package was upgraded: the packaged binary runs again
)

// ReleaseMessage is what a release key signs: the version, the sha256 (hex,
// lower case) and the architecture of one binary, one per line.
func ReleaseMessage(version, sha256hex, arch string) []byte {
	return fmt.Appendf(nil, "kioskd-release/v1\nversion=%s\nsha256=%s\narch=%s\n", version, sha256hex, arch)
}

// SignRelease signs a release with key, returning UpdateArgs.Signature.
func SignRelease(key ed25519.PrivateKey, version, sha256hex, arch string) (string, error) {
	if len(key) != ed25519.PrivateKeySize {
		return "", fmt.Errorf("sign release: private key of %d bytes, want %d", len(key), ed25519.PrivateKeySize)
	}
	return base64.StdEncoding.EncodeToString(ed25519.Sign(key, ReleaseMessage(version, sha256hex, arch))), nil
}

// ErrBadReleaseSignature is returned by VerifyRelease.
var ErrBadReleaseSignature = errors.New("release signature does not verify")

// VerifyRelease checks a release signature against the release keys.
func VerifyRelease(keys []ed25519.PublicKey, version, sha256hex, arch, signature string) error {
	sig, err := base64.StdEncoding.DecodeString(signature)
	if err != nil {
		return fmt.Errorf("%w: signature is not base64: %v", ErrBadReleaseSignature, err)
	}
	if !verifiedByAny(ReleaseMessage(version, sha256hex, arch), sig, keys) {
		return fmt.Errorf("%w under any of the %d release keys", ErrBadReleaseSignature, len(keys))
	}
	return nil
}
