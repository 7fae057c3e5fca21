package firmware

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"time"

	"kioskd/kiosk"
	"kioskd/kiosk/journal"
)

// The clip store: MP4 files in clips.dir, indexed in the journal. Every
// minute (and at start) retention deletes, oldest first, the clips the
// journal offers (acked by the platform, incident closed) that are past
// clips.max_age, over clips.quota, or needed to bring free space back
// above clips.low_disk; then the clips_low_disk fault is raised or
// cleared. Under half of low_disk no new clip is recorded, so that clips
// never take the space the journal needs.

const (
	faultClipsLowDisk = "clips_low_disk"
	// orphanAge: a file in clips.dir the index does not know (a child's
	// ".part" file after a crash) is deleted once this old.
	orphanAge = time.Hour
)

// roomForClip fails when free space is under half of clips.low_disk.
func (cs *cameraSet) roomForClip() error {
	free := diskFree(cs.clips.Dir)
	if free >= 0 && free < cs.clips.LowDisk.Bytes/2 {
		return fmt.Errorf("not recorded: %d MiB free under %s, half of clips.low_disk", free>>20, cs.clips.Dir)
	}
	return nil
}

// keepStore runs retention and raises or clears the low-disk fault.
func (cs *cameraSet) keepStore(ctx context.Context) {
	if err := os.MkdirAll(cs.clips.Dir, 0o750); err != nil {
		cs.log.Error("clips directory", "err", err)
	}
	need := int64(0)
	if free := diskFree(cs.clips.Dir); free >= 0 {
		need = max(0, cs.clips.LowDisk.Bytes-free)
	}
	gone, err := cs.journal.ClipsToDelete(time.Now(), cs.clips.MaxAge.Duration, cs.clips.Quota.Bytes, need)
	if err != nil {
		cs.log.Error("retention: clip index unreadable", "err", err)
	}
	for _, c := range gone {
		if err := os.Remove(cs.clipPath(c.File)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			cs.log.Error("retention: clip not deleted", "clip", c.ID, "err", err)
			continue
		}
		if err := cs.journal.ForgetClip(c.ID); err != nil {
			cs.log.Error("retention: clip deleted but still indexed", "clip", c.ID, "err", err)
		}
	}
	if len(gone) > 0 {
		cs.log.Info("retention deleted clips", "count", len(gone))
	}
	cs.sweepOrphans()
	cs.lowDiskFault(ctx)
}

// lowDiskFault raises clips_low_disk while free space is under
// clips.low_disk, on a post with cameras: without one no clip is
// recorded, and the journal's own reserve fault speaks for the disk.
func (cs *cameraSet) lowDiskFault(ctx context.Context) {
	free := diskFree(cs.clips.Dir)
	low := len(cs.cams) > 0 && free >= 0 && free < cs.clips.LowDisk.Bytes
	cs.mu.Lock()
	changed := low != cs.lowOn
	cs.lowOn = low
	cs.mu.Unlock()
	if !changed {
		return
	}
	var in kiosk.Input = kiosk.ClearFault{Key: faultClipsLowDisk}
	if low {
		in = kiosk.RaiseFault{Key: faultClipsLowDisk, Detail: fmt.Sprintf(
			"%d MiB free for clips, under clips.low_disk (%s); clips the platform has not acknowledged and clips of open incidents are kept",
			free>>20, cs.clips.LowDisk)}
	}
	cs.submit(ctx, in)
}

// sweepOrphans deletes old files the clip index does not know.
func (cs *cameraSet) sweepOrphans() {
	entries, err := os.ReadDir(cs.clips.Dir)
	if err != nil {
		return
	}
	clips, err := cs.journal.Clips()
	if err != nil {
		return
	}
	known := map[string]bool{}
	for _, c := range clips {
		known[c.File] = true
	}
	for _, e := range entries {
		info, err := e.Info()
		if err != nil || e.IsDir() || known[strings.TrimSuffix(e.Name(), ".part")] || time.Since(info.ModTime()) < orphanAge {
			continue
		}
		os.Remove(cs.clipPath(e.Name()))
		cs.log.Info("retention deleted a file no clip owns", "file", e.Name())
	}
}

// openClip opens the file of a finished clip, for download or upload.
func (cs *cameraSet) openClip(id string) (journal.Clip, *os.File, error) {
	c, err := cs.journal.ClipByID(id)
	if err != nil {
		return c, nil, err
	}
	if c.State == journal.ClipRecording || c.State == journal.ClipFailed {
		return c, nil, fmt.Errorf("clip %s is %s: %w", id, c.State, journal.ErrNoClip)
	}
	f, err := os.Open(cs.clipPath(c.File))
	return c, f, err
}
