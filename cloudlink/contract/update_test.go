package contract

import (
	"crypto/ed25519"
	"errors"
	"testing"
)

const exUpdateCmd = "c-20250314-0007"

// exSelfTest is a passed self-test, as the heartbeat and events carry it.
func exSelfTest(trigger string, sec int) SelfTest {
	return SelfTest{Time: at(sec), OK: true, Trigger: trigger, Version: exVersion, DurationMs: 2310, Checks: []SelfTestCheck{
		{Name: "journal", Result: CheckPassed, Detail: "written; 0 events waiting for the platform"},
		{Name: "disk", Result: CheckPassed, Detail: "12288 MiB free"},
		{Name: "alarm_path", Result: CheckPassed, Detail: "journal, controller and inputs healthy"},
		{Name: "test_call", Result: CheckPassed, Detail: "inc-5e0b7d2c9a4f1836 acked by the platform in 212ms"},
		{Name: "cameras", Result: CheckPassed, Detail: "2 cameras producing frames"},
		{Name: "indicators", Result: CheckPassed, Detail: "lamp test for 2s on 1 LEDs (relays are not switched)"},
	}}
}

func exUpdateArgs() UpdateArgs {
	const sum = "3f9a1c0e7b2d4f6a8c0e1b3d5f7a9c2e4b6d8f0a1c3e5b7d9f1a3c5e7b9d0f2a"
	seed := make([]byte, ed25519.SeedSize)
	seed[0] = 7
	sig, _ := SignRelease(ed25519.NewKeyFromSeed(seed), "1.5.0", sum, "arm64")
	return UpdateArgs{URL: "https://releases.example.cn/kioskd/1.5.0/kioskd-arm64", Version: "1.5.0",
		SHA256: sum, Size: 18_874_368, Arch: "arm64", Signature: sig}
}

// upkeepSteps are the self-test and update events of the examples' story.
func upkeepSteps() []eventStep {
	failed := exSelfTest("schedule", 7300)
	failed.OK, failed.Note = false, "test_call: the platform did not ack inc-2a6c8e0f4b1d3957 within 30s"
	failed.Checks[3] = SelfTestCheck{Name: "test_call", Result: CheckFailed, Detail: "the platform did not ack inc-2a6c8e0f4b1d3957 within 30s"}
	a := exUpdateArgs()
	cmd := exUpdateCmd
	return []eventStep{
		{typ: "self_test.failed", sec: 7300, data: map[string]any{"self_test": failed}},
		{typ: "self_test.passed", sec: 7400, data: map[string]any{"self_test": exSelfTest("command", 7400)}},
		{typ: "update.downloading", sec: 8000, data: map[string]any{"command": cmd, "version": a.Version, "url": a.URL}},
		{typ: "update.verified", sec: 8030, data: map[string]any{"command": cmd, "version": a.Version, "sha256": a.SHA256, "bytes": a.Size}},
		{typ: "update.deferred", sec: 8031, data: map[string]any{"command": cmd, "version": a.Version, "reason": UpdateIncident,
			"detail": "incident inc-0d4f6b8a2c1e3957 was registered 1m12s ago; updates wait until 10m0s after the last new incident (update.quiet_after); try again after 2025-03-14T11:47:23Z"}},
		{typ: "update.installed", sec: 8640, data: map[string]any{"command": cmd, "version": a.Version, "from_version": exVersion, "slot": "b"}},
		{typ: "update.committed", sec: 8650, data: map[string]any{"command": cmd, "version": a.Version, "from_version": exVersion,
			"self_test": exSelfTest("update_trial", 8645)}},
		{typ: "update.rejected", sec: 9000, data: map[string]any{"command": "c-20250314-0008", "version": "1.4.0", "reason": UpdateDowngrade,
			"detail": "1.4.0 is not above the running 1.5.0; set allow_downgrade to install it anyway"}},
		{typ: "update.rolled_back", sec: 9900, data: map[string]any{"command": "c-20250314-0009", "version": "1.6.0", "running_version": "1.5.0",
			"reason": UpdateCrashedAtStart, "detail": "version 1.6.0 started 3 times without passing its trial (it crashed, hung or looped at start); back to 1.5.0"}},
	}
}

func TestReleaseSignature(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(nil)
	other, _, _ := ed25519.GenerateKey(nil)
	sum := "3f9a1c0e7b2d4f6a8c0e1b3d5f7a9c2e4b6d8f0a1c3e5b7d9f1a3c5e7b9d0f2a"
	sig, err := SignRelease(priv, "1.5.0", sum, "arm64")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name               string
		keys               []ed25519.PublicKey
		version, sha, arch string
		sig                string
		wantOK             bool
	}{
		{"signed", []ed25519.PublicKey{other, pub}, "1.5.0", sum, "arm64", sig, true},
		{"other version", []ed25519.PublicKey{pub}, "1.5.1", sum, "arm64", sig, false},
		{"other sha256", []ed25519.PublicKey{pub}, "1.5.0", "0" + sum[1:], "arm64", sig, false},
		{"other arch", []ed25519.PublicKey{pub}, "1.5.0", sum, "armhf", sig, false},
		{"other key", []ed25519.PublicKey{other}, "1.5.0", sum, "arm64", sig, false},
		{"no keys", nil, "1.5.0", sum, "arm64", sig, false},
		{"not base64", []ed25519.PublicKey{pub}, "1.5.0", sum, "arm64", "%%%", false},
	}
	for _, tc := range tests {
		err := VerifyRelease(tc.keys, tc.version, tc.sha, tc.arch, tc.sig)
		if got := err == nil; got != tc.wantOK {
			t.Errorf("%s: VerifyRelease() = %v, want ok %v", tc.name, err, tc.wantOK)
		}
		if err != nil && !errors.Is(err, ErrBadReleaseSignature) {
			t.Errorf("%s: error %v is not ErrBadReleaseSignature", tc.name, err)
		}
	}
}
