// Package clipfile writes video clips as fragmented MP4 that stay playable
// whatever happens to the process writing them: the index (ftyp, moov) goes
// first, then one fragment (moof, mdat) per second of video, each written
// whole in one write and synced to disk at a bounded cadence. A kill, a
// crash or a power cut loses at most the last FragmentEvery + SyncEvery of
// video; Repair cuts a file that was not closed after its last whole
// fragment, and what is left is a normal MP4 for ffprobe and browsers.
//
// The boxes are made by bluenviron/mediacommon's fmp4 package; nothing
// here writes MP4 by hand.
package clipfile

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/bluenviron/mediacommon/pkg/formats/fmp4"
	"github.com/bluenviron/mediacommon/pkg/formats/fmp4/seekablebuffer"
)

const (
	// FragmentEvery is the video a fragment holds at most: what a kill
	// may cost beyond the frames already written.
	FragmentEvery = time.Second
	// SyncEvery is the longest a written fragment waits for fsync (while
	// frames keep coming; Sync forces it): what a power cut may cost
	// beyond FragmentEvery.
	SyncEvery = time.Second

	timescale = 90000 // ticks per second of the video track
	trackID   = 1
	// fallbackFrame is the last frame's duration when it is the only one.
	fallbackFrame = 40 * time.Millisecond
)

// ErrTimeBackwards is returned by Write for a frame older than the one
// before it (a camera sending B-frames): the clip must end there.
var ErrTimeBackwards = errors.New("clipfile: frame time goes backwards")

// Codec is the decoder configuration of a clip: H.264 (SPS, PPS) or, with
// H265 set, H.265 (VPS, SPS, PPS), each a NAL unit without start code.
type Codec struct {
	H265          bool
	VPS, SPS, PPS []byte
}

// Writer writes one clip. Not safe for concurrent use.
type Writer struct {
	file *os.File
	seq  uint32

	origin   time.Duration         // pts of the first frame: the clip's time 0
	held     *fmp4.PartSample      // the newest frame: its duration is known at the next one
	heldPTS  time.Duration         // its pts
	ready    []*fmp4.PartSample    // frames with their durations, not yet written
	readyAt  time.Duration         // pts of ready[0]
	lastDur  uint32                // duration of the last frame given one, in ticks
	buf      seekablebuffer.Buffer // the fragment being made
	unsynced bool                  // a fragment was written since the last fsync
	lastSync time.Time
}

// Create creates the file at path (truncating it), writes the MP4 index
// for codec and syncs it.
func Create(path string, codec Codec) (*Writer, error) {
	var track fmp4.Codec = &fmp4.CodecH264{SPS: codec.SPS, PPS: codec.PPS}
	if codec.H265 {
		track = &fmp4.CodecH265{VPS: codec.VPS, SPS: codec.SPS, PPS: codec.PPS}
	}
	init := fmp4.Init{Tracks: []*fmp4.InitTrack{{ID: trackID, TimeScale: timescale, Codec: track}}}
	var buf seekablebuffer.Buffer
	if err := init.Marshal(&buf); err != nil {
		return nil, fmt.Errorf("clipfile: index: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o640)
	if err != nil {
		return nil, fmt.Errorf("clipfile: %w", err)
	}
	w := &Writer{file: f, lastSync: time.Now()}
	if _, err := f.Write(buf.Bytes()); err != nil {
		f.Close()
		return nil, fmt.Errorf("clipfile: write index: %w", err)
	}
	w.unsynced = true
	return w, w.Sync()
}

// Write adds a frame (AVCC: NAL units with 4-byte lengths) presented at
// pts; the first frame should be a keyframe. It writes a fragment once
// FragmentEvery of frames is waiting, and syncs when SyncEvery passed.
func (w *Writer) Write(data []byte, key bool, pts time.Duration) error {
	if w.held == nil && len(w.ready) == 0 && w.seq == 0 {
		w.origin = pts
	}
	if w.held != nil {
		if pts < w.heldPTS {
			return fmt.Errorf("%w: %v after %v", ErrTimeBackwards, pts, w.heldPTS)
		}
		w.held.Duration = uint32(w.ticks(pts) - w.ticks(w.heldPTS))
		w.lastDur = w.held.Duration
		w.queue(w.held, w.heldPTS)
	}
	w.held = &fmp4.PartSample{IsNonSyncSample: !key, Payload: data}
	w.heldPTS = pts
	if len(w.ready) > 0 && w.heldPTS-w.readyAt >= FragmentEvery {
		if err := w.writeFragment(); err != nil {
			return err
		}
	}
	if w.unsynced && time.Since(w.lastSync) >= SyncEvery {
		return w.Sync()
	}
	return nil
}

func (w *Writer) queue(s *fmp4.PartSample, pts time.Duration) {
	if len(w.ready) == 0 {
		w.readyAt = pts
	}
	w.ready = append(w.ready, s)
}

// ticks is pts in track ticks from the clip's origin. Every duration is a
// difference of two ticks values, so rounding never accumulates.
func (w *Writer) ticks(pts time.Duration) uint64 {
	return uint64((pts - w.origin) * timescale / time.Second)
}

// writeFragment writes the ready frames as one fragment, in one write.
func (w *Writer) writeFragment() error {
	if len(w.ready) == 0 {
		return nil
	}
	w.seq++
	part := fmp4.Part{SequenceNumber: w.seq, Tracks: []*fmp4.PartTrack{{
		ID: trackID, BaseTime: w.ticks(w.readyAt), Samples: w.ready}}}
	w.buf.Reset() // reused: a fragment is about a second of video
	if err := part.Marshal(&w.buf); err != nil {
		return fmt.Errorf("clipfile: fragment %d: %w", w.seq, err)
	}
	if _, err := w.file.Write(w.buf.Bytes()); err != nil {
		return fmt.Errorf("clipfile: write fragment %d: %w", w.seq, err)
	}
	w.ready, w.unsynced = nil, true
	return nil
}

// Sync writes the frames that wait with a known duration and syncs the
// file to disk.
func (w *Writer) Sync() error {
	if err := w.writeFragment(); err != nil {
		return err
	}
	if !w.unsynced {
		return nil
	}
	if err := w.file.Sync(); err != nil {
		return fmt.Errorf("clipfile: sync: %w", err)
	}
	w.unsynced, w.lastSync = false, time.Now()
	return nil
}

// Close writes every frame (the last one lasting as long as the one
// before it), syncs and closes the file.
func (w *Writer) Close() error {
	if w.held != nil {
		w.held.Duration = w.lastDur
		if w.held.Duration == 0 {
			w.held.Duration = uint32(fallbackFrame * timescale / time.Second)
		}
		w.queue(w.held, w.heldPTS)
		w.held = nil
	}
	err := w.Sync()
	return errors.Join(err, w.file.Close())
}

// Abort closes the file without writing what waits.
func (w *Writer) Abort() error { return w.file.Close() }

// Rename gives a finished or repaired clip its final name and syncs the
// directory, so that the name survives a power cut as the bytes do.
func Rename(from, to string) error {
	if err := os.Rename(from, to); err != nil {
		return fmt.Errorf("clipfile: %w", err)
	}
	d, err := os.Open(filepath.Dir(to))
	if err != nil {
		return fmt.Errorf("clipfile: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("clipfile: sync directory: %w", err)
	}
	return nil
}
