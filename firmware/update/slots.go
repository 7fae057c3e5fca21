// Package update installs a new kioskd binary beside the running one, and
// decides at every start which binary runs. It is the A/B half of the
// over-the-air update; firmware/upkeep drives it from the platform's
// signed update command.
//
// # Layout
//
// Under the state directory (/var/lib/kioskd):
//
//	slots/a/kioskd, slots/b/kioskd   two installed binaries
//	slots/current -> a               which one runs; absent: the packaged /usr/bin/kioskd
//	slots/state.json                 the trial under way, and reports for the platform
//
// An update writes the slot that is not current, records a Trial in
// state.json, and only then switches `current` with one rename of a new
// symlink over it: at any instant `current` names a complete binary. The
// previous slot (or the packaged binary) is kept as it is.
//
// # Who decides what runs
//
// systemd starts the packaged binary as a launcher (`kioskd launch`). The
// launcher is never the new binary: it is the one installed by the Debian
// package, so a new version that crashes, hangs or loops at start cannot
// stop its own rollback. Before every start the launcher (Choose):
//
//  1. If the package was upgraded since a slot was made current (its own
//     version differs from the one recorded), the packaged binary wins:
//     `current` is removed.
//  2. If a trial is under way, it counts one more start of the new
//     version. Past MaxTrialStarts starts without a commit, it switches
//     `current` back to the previous binary and leaves a crashed_at_start
//     report; the previous version journals it as update.rolled_back.
//  3. It runs `current` (exec, same PID for systemd), or itself.
//
// The new version, on trial, commits (Commit) once its self-test passed and
// the platform acknowledged its test call within the trial deadline (only
// the self-test when the platform was already unreachable before the
// update). Otherwise it rolls itself back (RollBack) and exits with
// ExitRestart; a new version too broken to do even that is caught by the
// start counter above, and one that hangs by systemd's watchdog, which
// restarts it and so counts a start.
package update

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// ExitRestart is kioskd's exit status when it stops to be started again
// into another binary (an update installed, or rolled back). systemd's
// Restart=always starts it again; any supervisor that restarts will do.
const ExitRestart = 75

// MaxTrialStarts is how many times a new version may start without
// committing before the launcher rolls it back.
const MaxTrialStarts = 3

// Packaged is the slot name of the binary the Debian package installed.
const Packaged = "packaged"

const (
	stateFile   = "state.json"
	currentLink = "current"
	binaryName  = "kioskd"
)

// Slots is the A/B directory, state_dir/slots.
type Slots struct{ Dir string }

// State is slots/state.json. Fields are only ever added: every kioskd
// version, older and newer, reads and writes it.
type State struct {
	V int `json:"v"`
	// PackagedVersion is the launcher's version when it last ran; a change
	// means the package was upgraded.
	PackagedVersion string   `json:"packaged_version,omitempty"`
	Trial           *Trial   `json:"trial,omitempty"`
	Reports         []Report `json:"reports,omitempty"` // for the running version to journal
}

// Trial is an installed update not yet committed.
type Trial struct {
	Command     string `json:"command"`
	Version     string `json:"version"`
	FromVersion string `json:"from_version"`
	Slot        string `json:"slot"`        // a or b
	FromSlot    string `json:"from_slot"`   // a, b or Packaged
	RequireAck  bool   `json:"require_ack"` // the platform was reachable at install: the new version must reach it too
	// CamerasOnline were online before the update: the new version must
	// see them online too (a camera broken before does not fail it).
	CamerasOnline []string  `json:"cameras_online,omitempty"`
	Starts        int       `json:"starts"`
	Installed     time.Time `json:"installed"`
}

// Report is an update's end that the version running afterwards journals:
// the new version cannot always report its own failure.
type Report struct {
	Command        string `json:"command"`
	Version        string `json:"version"`         // the update's version
	RunningVersion string `json:"running_version"` // the version that runs again
	Reason         string `json:"reason"`          // a Reason* below, or the reason RollBack was given
	Detail         string `json:"detail"`
}

// The reasons the launcher gives a trial it ends. The running version
// journals a Report as it is, so they are words of the contract
// (cloudlink/contract/update.go, Update*); this leaf keeps its own copy
// rather than import the contract (ARCHITECTURE.md, "Import rules"), and
// TestReasonsAreTheContracts holds the two equal.
const (
	ReasonNotRunnable     = "not_runnable"        // the new binary could not be started at all
	ReasonCrashedAtStart  = "crashed_at_start"    // it started MaxTrialStarts times without passing its trial
	ReasonInterrupted     = "install_interrupted" // a power cut between installing and switching
	ReasonPackageUpgraded = "package_upgraded"    // the Debian package was upgraded: the packaged binary runs again
)

// Load reads state.json; a missing file is an empty state.
func (s Slots) Load() (State, error) {
	var st State
	b, err := os.ReadFile(filepath.Join(s.Dir, stateFile))
	if errors.Is(err, fs.ErrNotExist) {
		return State{V: 1}, nil
	}
	if err != nil {
		return st, fmt.Errorf("update state: %w", err)
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, fmt.Errorf("update state %s: %w", filepath.Join(s.Dir, stateFile), err)
	}
	return st, nil
}

// Save writes state.json durably: a new file, fsynced, renamed over the old.
func (s Slots) Save(st State) error {
	st.V = 1
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return fmt.Errorf("update state: %w", err)
	}
	if err := os.MkdirAll(s.Dir, 0o700); err != nil {
		return fmt.Errorf("update state: %w", err)
	}
	if err := writeFileSync(filepath.Join(s.Dir, stateFile), b, 0o600); err != nil {
		return fmt.Errorf("update state: %w", err)
	}
	return nil
}

// Current is the slot `current` points to, or Packaged when there is none.
func (s Slots) Current() (string, error) {
	target, err := os.Readlink(filepath.Join(s.Dir, currentLink))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return Packaged, nil
	case err != nil:
		return "", fmt.Errorf("update: read %s: %w", currentLink, err)
	case target != "a" && target != "b":
		return "", fmt.Errorf("update: %s points to %q, want a or b", currentLink, target)
	}
	return target, nil
}

// Binary is the path of a slot's binary; packaged is returned for Packaged.
func (s Slots) Binary(slot, packaged string) string {
	if slot == Packaged {
		return packaged
	}
	return filepath.Join(s.Dir, slot, binaryName)
}

// Other is the slot an update writes while cur runs.
func Other(cur string) string {
	if cur == "a" {
		return "b"
	}
	return "a"
}

// Install copies the binary at src into slot, durably and executable. It
// never touches `current`.
func (s Slots) Install(src, slot string) error {
	dir := filepath.Join(s.Dir, slot)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("update: install: %w", err)
	}
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("update: install: %w", err)
	}
	defer in.Close()
	dst := filepath.Join(dir, binaryName)
	tmp := dst + ".new"
	out, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o700)
	if err != nil {
		return fmt.Errorf("update: install: %w", err)
	}
	_, err = io.Copy(out, in)
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, dst)
	}
	if err == nil {
		err = syncDir(dir)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("update: install into slot %s: %w", slot, err)
	}
	return nil
}

// Switch points `current` at slot (Packaged removes it), atomically.
func (s Slots) Switch(slot string) error {
	link := filepath.Join(s.Dir, currentLink)
	var err error
	if slot == Packaged {
		err = os.Remove(link)
		if errors.Is(err, fs.ErrNotExist) {
			err = nil
		}
	} else {
		tmp := link + ".new"
		os.Remove(tmp)
		if err = os.Symlink(slot, tmp); err == nil {
			err = os.Rename(tmp, link)
		}
	}
	if err == nil {
		err = syncDir(s.Dir)
	}
	if err != nil {
		return fmt.Errorf("update: switch to %s: %w", slot, err)
	}
	return nil
}

func writeFileSync(path string, b []byte, mode os.FileMode) error {
	tmp := path + ".new"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, mode)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err == nil {
		err = syncDir(filepath.Dir(path))
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
