package journal

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"syscall"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// How the reserve works.
//
// Critical events must still be stored when the disk is full or the size
// cap is reached, so the journal keeps Reserve bytes that other programs
// cannot take and telemetry may not use. Those bytes are:
//
//   - free pages inside the file: bbolt never shrinks the file, and every
//     page below its last was written once, so its disk blocks are ours;
//   - blocks preallocated past the file's last page with
//     fallocate(FALLOC_FL_KEEP_SIZE). bbolt grows the file there (ftruncate,
//     then pwrite) without needing a new block from the filesystem.
//
// bbolt itself hands free pages to any transaction, telemetry or not, and
// on a full disk its ftruncate succeeds (the file is sparse) and the
// pwrite fails with ENOSPC; it then rolls the transaction back and the
// file stays sound. So the reserve is kept by accounting: telemetry is
// refused when storing it would leave less than Reserve of kept space, or
// when the filesystem has less than Reserve free; the preallocation is
// topped up when telemetry needs room, at Open and at every Touch. Critical
// events are never refused: they use the kept space, then whatever the
// disk and the cap allow, and only then fail with ErrFull.
//
// Keeping the reserve as free pages alone (a ballast bucket written and
// deleted) was tried on paper and rejected: bbolt gives those pages to the
// next telemetry write, so the ballast would be rewritten every Reserve
// bytes of telemetry, two extra commits holding the writer lock that an
// alarm waits behind; fallocate reserves the same blocks in one system
// call without writing them.
//
// On a filesystem that cannot preallocate, the journal falls back to
// refusing telemetry when free pages, the disk and the cap together leave
// less than Reserve; other programs can then take the last of the disk.

// allocSize is bbolt's growth step, set at Open. bbolt refuses to allocate
// a page when the page after it plus one step would pass MaxSize, so the
// last allocSize bytes under the cap are never used.
const allocSize = 1 << 20

// txOverhead is the pages one write may copy before bbolt frees the old
// ones (copy on write of each touched bucket's path, the freelist).
const txOverhead = 32

// ackPages is the space, in pages, that even critical events leave free:
// an ack must copy pages before it frees any, and acks are how a full
// journal empties. Open's epoch write also comes out of it.
const ackPages = 64

// space is what the journal can still write, in bytes.
type space struct {
	hwm      int64 // size of the pages in use (bbolt's high-water mark)
	free     int64 // free and pending pages below hwm
	tail     int64 // preallocated past hwm, within the cap
	capRoom  int64 // growth past hwm the cap still allows
	disk     int64 // free on the filesystem; negative if unknown
	prealloc bool  // the filesystem preallocates
}

func (s space) diskRoom() int64 {
	if s.disk < 0 {
		return math.MaxInt64
	}
	return s.disk
}

// room is all the space writes could still use.
func (s space) room() int64 {
	return s.free + min(s.capRoom, s.tail+s.diskRoom())
}

// kept is the space no other program can take.
func (s space) kept() int64 {
	if !s.prealloc {
		return s.free + min(s.capRoom, s.diskRoom())
	}
	return s.free + s.tail
}

// growable is how much more could be preallocated now.
func (s space) growable() int64 {
	if !s.prealloc {
		return 0
	}
	return max(0, min(s.capRoom-s.tail, s.diskRoom()))
}

// onReserve reports that telemetry of up to a page would be refused for
// want of space (see roomForTelemetry): critical events now live on the
// reserve.
func (s space) onReserve(reserve, page int64) bool {
	return s.diskRoom() < reserve || s.kept()+s.growable() < reserve+(txOverhead+1)*page
}

// measure returns the space now.
func (j *Journal) measure() (space, error) {
	var hwm int64
	err := j.view("measure space", func(tx *bolt.Tx) error {
		hwm = tx.Size()
		return nil
	})
	if err != nil {
		return space{}, err
	}
	return j.spaceAt(hwm), nil
}

// spaceAt returns the space with the high-water mark hwm.
func (j *Journal) spaceAt(hwm int64) space {
	s := space{hwm: hwm, free: int64(j.db.Stats().FreeAlloc), capRoom: math.MaxInt64, disk: diskFree(j.dir)}
	if j.opts.MaxSize > 0 {
		limit := j.opts.MaxSize - allocSize - j.pageSize()
		s.capRoom = max(0, limit-hwm)
	}
	j.spaceMu.Lock()
	defer j.spaceMu.Unlock()
	s.prealloc = !j.noPrealloc
	s.tail = max(0, min(j.preallocTo-hwm, s.capRoom))
	return s
}

// roomForTelemetry reports whether need bytes of telemetry may be stored
// without eating into the reserve, preallocating more if that helps.
func (j *Journal) roomForTelemetry(need int64) bool {
	s, err := j.measure()
	if err != nil {
		return false // the write would fail anyway; Append reports it for critical events
	}
	if s.diskRoom() < j.opts.Reserve {
		return false
	}
	need += txOverhead * j.pageSize()
	short := j.opts.Reserve + need - s.kept()
	if short <= 0 {
		return true
	}
	// Take one more reserve's worth, so that top-ups are rare.
	return j.preallocate(s, short+j.opts.Reserve) >= short
}

// roomForCritical returns an error wrapping ErrFull when critical events
// must stop to leave room for acks.
func (j *Journal) roomForCritical() error {
	s, err := j.measure()
	if err != nil {
		return err
	}
	if left, keep := s.room(), ackPages*j.pageSize(); left < keep {
		return fmt.Errorf("journal: append: %w: %d bytes left, the last %d kept for acks", ErrFull, left, keep)
	}
	return nil
}

// pageSize is read once at Open: bbolt's Info reads the mmap without its
// lock and races with a write that remaps.
func (j *Journal) pageSize() int64 { return j.page }

// keepReserve tops the kept space up to Reserve if the disk and the cap
// allow. Best effort: Stats.OnReserve reports a reserve it cannot keep.
func (j *Journal) keepReserve() {
	if s, err := j.measure(); err == nil {
		j.preallocate(s, j.opts.Reserve-s.kept())
	}
}

// preallocate reserves up to want bytes past the last preallocated block
// and returns how many it got. On ENOSPC it tries half as much, so a
// nearly full disk still yields what it has; blocks reserved before (by a
// previous run) are taken again without needing free space.
func (j *Journal) preallocate(s space, want int64) int64 {
	j.spaceMu.Lock()
	defer j.spaceMu.Unlock()
	page := j.pageSize()
	start := max(s.hwm, j.preallocTo)
	n := min(want, s.capRoom-(start-s.hwm)) / page * page
	for ; !j.noPrealloc && n >= page; n = n / 2 / page * page {
		err := fallocate(j.file, start, n)
		switch {
		case err == nil:
			j.preallocTo = start + n
			return n
		case errors.Is(err, errors.ErrUnsupported):
			// Handled: the journal falls back to accounting alone.
			slog.Warn("journal: filesystem cannot preallocate; the reserve is not kept from other programs",
				"dir", j.dir, "err", err)
			j.noPrealloc = true
		case !isNoSpace(err):
			return 0
		}
	}
	return 0
}

// isNoSpace reports a write that failed for want of space. bbolt formats
// some errors with %s, hence the string test.
func isNoSpace(err error) bool {
	return errors.Is(err, berrors.ErrMaxSizeReached) || errors.Is(err, syscall.ENOSPC) ||
		errors.Is(err, syscall.EDQUOT) || errors.Is(err, syscall.EFBIG) ||
		strings.Contains(err.Error(), syscall.ENOSPC.Error())
}
