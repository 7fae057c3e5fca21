package cameras

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"kioskd/devices"
	"kioskd/devices/clipfile"
	"kioskd/firmware/update"
	"kioskd/kiosk/journal"
)

// Clips cut short. A camera process writes its clip as fragmented MP4,
// flushed every second (devices/clipfile), to ID.mp4.part, and renames it
// to ID.mp4 when it finishes. When the process is killed or crashes, or
// kioskd is (the process dies with it), kioskd finishes the clip itself:
// at once when the camera process ended, at its next start otherwise. A
// ".part" file is cut after its last whole fragment and renamed, and the
// clip is reported ready with partial set; a clip with no whole fragment
// failed.

// errNoVideo: the camera process left no file for the clip.
var errNoVideo = errors.New("no video was written")

// recoverClips settles the clips a previous run left recording.
func (cs *Set) recoverClips(ctx context.Context) {
	all, err := cs.journal.Clips()
	if err != nil {
		cs.log.Error("clip index unreadable", "err", err)
		return
	}
	for _, c := range all {
		if c.State == journal.ClipRecording {
			cs.settleClip(ctx, &activeClip{clip: c}, "kioskd stopped while it was recording")
		}
	}
}

// settleClip finishes a clip whose camera process is gone, with what it
// left on disk; why says what cut it short.
func (cs *Set) settleClip(ctx context.Context, a *activeClip, why string) {
	r, partial, err := cs.salvage(a.clip)
	if err != nil {
		if !errors.Is(err, errNoVideo) {
			cs.log.Warn("clip not salvaged", "clip", a.clip.ID, "err", err)
		}
		cs.finishClip(ctx, a, devices.ClipReport{ID: a.clip.ID, State: devices.ClipFailed, Error: why + ": " + err.Error()})
		return
	}
	a.partial = partial
	if !a.clip.Start.IsZero() {
		r.Start, r.KeyframeBeforePressMs = a.clip.Start, a.clip.BeforePressMs
		r.End = r.Start.Add(time.Duration(r.DurationMs) * time.Millisecond)
	}
	if partial {
		r.Cut = why
		cs.log.Info("partial clip salvaged", "clip", a.clip.ID, "duration_ms", r.DurationMs, "bytes", r.Bytes)
	}
	cs.finishClip(ctx, a, r)
}

// salvage makes a ready report of what a clip's camera process left: its
// finished file, or its temp file repaired and renamed (partial).
func (cs *Set) salvage(c journal.Clip) (devices.ClipReport, bool, error) {
	path := cs.clipPath(c.File)
	part := path + ".part"
	_, err := os.Stat(path)
	partial := errors.Is(err, fs.ErrNotExist)
	if partial {
		if err := repairPart(part, path); err != nil {
			return devices.ClipReport{}, true, err
		}
	} else if err != nil {
		return devices.ClipReport{}, false, fmt.Errorf("clip file: %w", err)
	}
	r := devices.ClipReport{ID: c.ID, State: devices.ClipReady}
	if info, err := clipfile.Repair(path); err == nil {
		r.DurationMs = info.Duration.Milliseconds()
	} // else a clip the camera process finished in an older format: no duration
	sum, n, err := update.FileSHA256(path)
	if err != nil {
		return r, partial, fmt.Errorf("clip file: %w", err)
	}
	r.SHA256, r.Bytes = sum, n
	return r, partial, nil
}

// repairPart cuts a temp file after its last whole fragment and renames
// it to path. A temp file with nothing playable is deleted.
func repairPart(part, path string) error {
	if _, err := clipfile.Repair(part); err != nil {
		switch {
		case errors.Is(err, clipfile.ErrNothingPlayable):
			os.Remove(part)
			return fmt.Errorf("no whole second of video was written: %w", err)
		case errors.Is(err, fs.ErrNotExist):
			return errNoVideo
		}
		return err
	}
	return clipfile.Rename(part, path)
}
