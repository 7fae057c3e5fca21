package cameras

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
// journal offers (acked, incident closed, and held by the platform:
// uploaded, or fetched whole from the clip server) that are past
// clips.max_age or over clips.quota. Only when free space is under
// clips.low_disk does it evict more: clips of closed incidents, those the
// platform holds first, then those it does not, oldest first, each with a
// clip.evicted event; never a clip of an open incident or one recording.
// Then the clips_low_disk fault is raised or cleared. Under half of
// low_disk no new clip is recorded, so that clips never take the space the
// journal needs.

const (
	faultClipsLowDisk = "clips_low_disk"
	// orphanAge: a file in clips.dir the index does not know (a child's
	// ".part" file after a crash) is deleted once this old.
	orphanAge = time.Hour
	// clipEvicted is a clip's state in its clip.evicted event; evictLowDisk
	// the event's reason.
	clipEvicted  = "evicted"
	evictLowDisk = "low_disk"
)

// roomForClip fails when free space is under half of clips.low_disk.
func (cs *Set) roomForClip() error {
	free := cs.diskFree(cs.clips.Dir)
	if free >= 0 && free < cs.clips.LowDisk.Bytes/2 {
		return fmt.Errorf("not recorded: %d MiB free under %s, half of clips.low_disk", free>>20, cs.clips.Dir)
	}
	return nil
}

// keepStore runs retention and raises or clears the low-disk fault.
func (cs *Set) keepStore(ctx context.Context) {
	if err := os.MkdirAll(cs.clips.Dir, 0o750); err != nil {
		cs.log.Error("clips directory", "err", err)
	}
	gone, err := cs.journal.ClipsToDelete(time.Now(), cs.clips.MaxAge.Duration, cs.clips.Quota.Bytes, 0)
	if err != nil {
		cs.log.Error("retention: clip index unreadable", "err", err)
	}
	deleted := 0
	for _, c := range gone {
		if cs.deleteClip(c) {
			deleted++
		}
	}
	if deleted > 0 {
		cs.log.Info("retention deleted clips", "count", deleted)
	}
	cs.evictForSpace(ctx)
	cs.sweepOrphans()
	cs.lowDiskFault(ctx)
}

// evictForSpace deletes clips of closed incidents while free space is
// under clips.low_disk, and says so with a clip.evicted event each.
func (cs *Set) evictForSpace(ctx context.Context) {
	free := cs.diskFree(cs.clips.Dir)
	if free < 0 || free >= cs.clips.LowDisk.Bytes {
		return
	}
	evict, err := cs.journal.ClipsToEvict(cs.clips.LowDisk.Bytes - free)
	if err != nil {
		cs.log.Error("retention: clip index unreadable", "err", err)
	}
	for _, c := range evict {
		if !cs.deleteClip(c) {
			continue
		}
		cs.log.Warn("clip evicted for disk space", "clip", c.ID, "incident", c.Incident, "platform_had", c.Held())
		ref := clipRef(c)
		ref.State = clipEvicted
		cs.submit(ctx, kiosk.ClipEvent{Event: kiosk.EvClipEvicted, Incident: c.Incident, Clip: ref, Detail: map[string]any{
			"reason": evictLowDisk, "platform_had": c.Held(), "free_bytes": free, "low_disk_bytes": cs.clips.LowDisk.Bytes}})
	}
}

// deleteClip deletes a clip's file, then its index entry.
func (cs *Set) deleteClip(c journal.Clip) bool {
	if err := os.Remove(cs.clipPath(c.File)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		cs.log.Error("retention: clip not deleted", "clip", c.ID, "err", err)
		return false
	}
	if err := cs.journal.ForgetClip(c.ID); err != nil {
		cs.log.Error("retention: clip deleted but still indexed", "clip", c.ID, "err", err)
	}
	return true
}

// lowDiskFault raises clips_low_disk while free space is under
// clips.low_disk, on a post with cameras: without one no clip is
// recorded, and the journal's own reserve fault speaks for the disk.
func (cs *Set) lowDiskFault(ctx context.Context) {
	free := cs.diskFree(cs.clips.Dir)
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
			"%d MiB free for clips, under clips.low_disk (%s); clips of closed incidents are evicted, oldest first, with clip.evicted; clips of open incidents are kept",
			free>>20, cs.clips.LowDisk)}
	}
	cs.submit(ctx, in)
}

// sweepOrphans deletes old files the clip index does not know.
func (cs *Set) sweepOrphans() {
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
func (cs *Set) openClip(id string) (journal.Clip, *os.File, error) {
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
