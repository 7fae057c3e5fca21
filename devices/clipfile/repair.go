package clipfile

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/abema/go-mp4"
)

// Bounds on what Repair reads of a file it did not see written.
const (
	maxMoof      = 4 << 20 // bytes of one fragment's moof box
	maxFragments = 1 << 16
)

// ErrNothingPlayable is returned, wrapped, by Repair for a file without
// its index or without one whole fragment.
var ErrNothingPlayable = errors.New("clipfile: nothing playable")

// Info describes a repaired clip.
type Info struct {
	Fragments int
	Bytes     int64
	// Duration is from the first frame to the last one's start, as
	// ffprobe counts it.
	Duration time.Duration
	Cut      int64 // bytes dropped after the last whole fragment
}

// Repair makes a clip whose writer never closed it playable: it truncates
// the file after its last whole fragment, syncs it and tells what is left.
// A file that was closed is left as it is.
func Repair(path string) (Info, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return Info{}, fmt.Errorf("clipfile: repair: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return Info{}, fmt.Errorf("clipfile: repair: %w", err)
	}
	info, end, err := scan(f, st.Size())
	if err != nil {
		return info, fmt.Errorf("clipfile: repair %s: %w", path, err)
	}
	info.Bytes, info.Cut = end, st.Size()-end
	if info.Cut > 0 {
		if err := f.Truncate(end); err != nil {
			return info, fmt.Errorf("clipfile: repair: %w", err)
		}
	}
	if err := f.Sync(); err != nil {
		return info, fmt.Errorf("clipfile: repair: %w", err)
	}
	return info, nil
}

// boxHeader is a top-level box: where it starts, its size and type.
type boxHeader struct {
	at, size int64
	typ      string
}

// readHeader reads the box header at off; ok is false when no whole box
// starts there (the file ends inside it, or its size is nonsense).
func readHeader(r io.ReaderAt, off, fileSize int64) (boxHeader, bool) {
	var b [16]byte
	if off+8 > fileSize {
		return boxHeader{}, false
	}
	if _, err := r.ReadAt(b[:8], off); err != nil {
		return boxHeader{}, false
	}
	h := boxHeader{at: off, size: int64(binary.BigEndian.Uint32(b[:4])), typ: string(b[4:8])}
	if h.size == 1 {
		if off+16 > fileSize {
			return boxHeader{}, false
		}
		if _, err := r.ReadAt(b[8:16], off+8); err != nil {
			return boxHeader{}, false
		}
		h.size = int64(binary.BigEndian.Uint64(b[8:16]))
	}
	if h.size < 8 || h.size > fileSize-off {
		return boxHeader{}, false
	}
	return h, true
}

// scan walks the top-level boxes: ftyp, moov, then moof+mdat pairs. It
// returns where the last whole pair ends and the frames' times.
func scan(r io.ReaderAt, size int64) (Info, int64, error) {
	var info Info
	off, sawMoov := int64(0), false
	var first, last uint64 // ticks: first fragment's start, last frame's start
	for info.Fragments < maxFragments {
		h, ok := readHeader(r, off, size)
		if !ok {
			break
		}
		switch {
		case h.typ == "ftyp" && off == 0, h.typ == "moov" && !sawMoov:
			sawMoov = sawMoov || h.typ == "moov"
			off += h.size
			continue
		case h.typ != "moof" || !sawMoov:
			return info, off, endScan(info, sawMoov)
		}
		data, ok := readHeader(r, off+h.size, size)
		if !ok || data.typ != "mdat" {
			break
		}
		base, lastStart, err := fragmentTimes(r, h)
		if err != nil {
			break
		}
		if info.Fragments == 0 {
			first = base
		}
		last = lastStart
		info.Fragments++
		off = data.at + data.size
	}
	info.Duration = time.Duration(last-min(first, last)) * time.Second / timescale
	return info, off, endScan(info, sawMoov)
}

func endScan(info Info, sawMoov bool) error {
	switch {
	case !sawMoov:
		return fmt.Errorf("%w: no index (moov)", ErrNothingPlayable)
	case info.Fragments == 0:
		return fmt.Errorf("%w: no whole fragment", ErrNothingPlayable)
	}
	return nil
}

// fragmentTimes reads a moof: its base time and the start of its last
// frame, in ticks.
func fragmentTimes(r io.ReaderAt, h boxHeader) (base, lastStart uint64, err error) {
	defer func() { // kioskd reads these files: a parser bug must not stop it
		if p := recover(); p != nil {
			err = fmt.Errorf("moof at %d: %v", h.at, p)
		}
	}()
	if h.size > maxMoof {
		return 0, 0, fmt.Errorf("moof of %d bytes", h.size)
	}
	buf := make([]byte, h.size)
	if _, err := r.ReadAt(buf, h.at); err != nil {
		return 0, 0, err
	}
	var durations []uint32
	haveBase := false
	_, err = mp4.ReadBoxStructure(bytes.NewReader(buf), func(rh *mp4.ReadHandle) (any, error) {
		switch rh.BoxInfo.Type {
		case mp4.BoxTypeMoof(), mp4.BoxTypeTraf():
			return rh.Expand()
		case mp4.BoxTypeTfdt():
			box, _, err := rh.ReadPayload()
			if err != nil {
				return nil, err
			}
			base, haveBase = box.(*mp4.Tfdt).GetBaseMediaDecodeTime(), true
		case mp4.BoxTypeTrun():
			box, _, err := rh.ReadPayload()
			if err != nil {
				return nil, err
			}
			for _, e := range box.(*mp4.Trun).Entries {
				durations = append(durations, e.SampleDuration)
			}
		}
		return nil, nil
	})
	if err == nil && (!haveBase || len(durations) == 0) {
		err = errors.New("fragment without tfdt or samples")
	}
	lastStart = base
	for _, d := range durations[:max(len(durations)-1, 0)] {
		lastStart += uint64(d)
	}
	return base, lastStart, err
}
