package journal

import (
	"bytes"
	"cmp"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"runtime/debug"
	"slices"

	bolt "go.etcd.io/bbolt"
)

// found is what a salvage read from a damaged file.
type found struct {
	events map[string]Event // by id
	// boltSeq is the events bucket's sequence as bbolt read it, and
	// outbox the pending seqs, trusted only if outboxWhole: then an event
	// at or below boltSeq and not in outbox was acked.
	boltSeq     uint64
	outbox      map[uint64]bool
	outboxWhole bool
	snaps       map[string]foundSnap
	clips       []Clip
	meta        map[string][]byte            // readable meta keys, for those salvage does not set itself
	others      map[string]map[string][]byte // buckets this program does not know: name → key → value
	epoch       uint64                       // highest boot epoch seen anywhere
	maxSeq      uint64                       // highest seq seen anywhere
	mark        mark                         // the high-water mark, if any
	histBytes   int                          // value bytes of acked history held; see trimHistory
}

type foundSnap struct {
	Snapshot
	stamp uint64
	live  bool // bbolt's current copy
}

// gather reads everything it can from the damaged file at path. It never
// fails: what cannot be read is left out.
func gather(path string, opts Options) *found {
	f := &found{events: map[string]Event{}, outbox: map[uint64]bool{},
		snaps: map[string]foundSnap{}, meta: map[string][]byte{}, others: map[string]map[string][]byte{}}
	if m, ok := readMark(hwmPath(path)); ok {
		f.mark = m
		f.epoch, f.maxSeq = m.Epoch, m.Reserved
	}
	if err := f.readWithBolt(path, opts); err != nil {
		slog.Warn("journal: salvage: bbolt reads incomplete; scanning the raw bytes", "err", err)
	}
	if err := f.scanFile(path); err != nil {
		slog.Warn("journal: salvage: raw scan incomplete", "err", err)
	}
	return f
}

// seqFrom is the first seq the rebuilt journal gives a new event.
func (f *found) seqFrom() uint64 {
	return max(f.maxSeq, f.boltSeq) + 1
}

// nextMark is the mark to write before rebuilding: the highest epoch seen
// and every seq up to seqFrom reserved.
func (f *found) nextMark() mark {
	return mark{Epoch: f.epoch, Reserved: f.seqFrom() - 1}
}

// addEvent keeps ev, the first copy of each id; bbolt's reads come first.
func (f *found) addEvent(ev Event) {
	if _, ok := f.events[ev.ID]; ok {
		return
	}
	f.events[ev.ID] = ev
	f.epoch = max(f.epoch, ev.BootEpoch)
	f.maxSeq = max(f.maxSeq, ev.Seq)
	if !f.requeue(ev) {
		f.histBytes += eventBytes(ev)
		if f.histBytes > 2*salvageHistory {
			f.trimHistory()
		}
	}
}

// salvageHistory bounds the acked history a salvage holds in memory and
// copies, in bytes of event values: the platform has those events, and a
// journal of hundreds of MB must not exhaust a small box's memory.
const salvageHistory = 32 << 20

func eventBytes(ev Event) int {
	return len(ev.Data) + len(ev.Type) + len(ev.Incident) + len(ev.Kiosk) + 200
}

// trimHistory drops the oldest acked history, but that of open incidents,
// until what is held fits salvageHistory.
func (f *found) trimHistory() {
	var hist []Event
	for _, ev := range f.events {
		if !f.requeue(ev) && !f.isOpen(ev.Incident) {
			hist = append(hist, ev)
		}
	}
	slices.SortFunc(hist, func(a, b Event) int { return cmp.Compare(a.Seq, b.Seq) })
	for _, ev := range hist {
		if f.histBytes <= salvageHistory {
			return
		}
		delete(f.events, ev.ID)
		f.histBytes -= eventBytes(ev)
	}
}

func (f *found) isOpen(incident string) bool {
	s, ok := f.snaps[incident]
	return incident != "" && ok && s.Open
}

// addSnap keeps the newest copy of each incident: the highest stamp, or
// bbolt's live copy if that is legacy (an older program wrote it after
// any stamped copy, which is then stale). A stamped live copy loses to a
// higher stamp found by the raw scan: bbolt then read an older meta page.
func (f *found) addSnap(s foundSnap) {
	cur, ok := f.snaps[s.ID]
	switch {
	case !ok, s.live && s.stamp == 0:
		f.snaps[s.ID] = s
	case cur.live && cur.stamp == 0:
	case s.stamp > cur.stamp:
		f.snaps[s.ID] = s
	}
}

// readWithBolt reads the file through bbolt, read-only, if its structure
// is safe to walk. Each bucket is read on its own: a fault in one keeps
// what the others gave.
func (f *found) readWithBolt(path string, opts Options) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	var db *bolt.DB
	var file *os.File
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("bbolt: %v", r)
		}
		closeAll(db, file)
	}()
	// A truncated file is left to the raw scan: bbolt would read the
	// missing pages as zeros, and a zeroed page as a branch that loops
	// (found by FuzzOpen).
	if err := precheck(path, opts.Timeout); err != nil {
		return err
	}
	db, err = bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: opts.Timeout,
		OpenFile: func(name string, flag int, perm os.FileMode) (*os.File, error) {
			f, err := os.OpenFile(name, flag, perm)
			file = f
			return f, err
		}})
	if err != nil {
		return err
	}
	var errs []error
	// The outbox and the snapshots first: they say which events are
	// history (see trimHistory).
	for _, read := range []func(*bolt.Tx) error{f.readMeta, f.readOutbox, f.readSnaps, f.readEvents, f.readClips, f.readOthers} {
		if err := viewSafely(db, read); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%d buckets incomplete, first: %w", len(errs), errs[0])
	}
	return nil
}

// viewSafely runs fn in a read transaction, turning panics and memory
// faults on damaged pages into an error.
func viewSafely(db *bolt.DB, fn func(*bolt.Tx) error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("bbolt: %v", r)
		}
	}()
	return db.View(fn)
}

func (f *found) readMeta(tx *bolt.Tx) error {
	meta := tx.Bucket(bucketMeta)
	if meta == nil {
		return fmt.Errorf("no meta bucket")
	}
	f.epoch = max(f.epoch, getUint(meta.Get(keyEpoch)))
	return meta.ForEach(func(k, v []byte) error {
		if v != nil {
			f.meta[string(k)] = bytes.Clone(v)
		}
		return nil
	})
}

func (f *found) readEvents(tx *bolt.Tx) error {
	events := tx.Bucket(bucketEvents)
	if events == nil {
		return fmt.Errorf("no events bucket")
	}
	bad := 0
	err := events.ForEach(func(k, v []byte) error {
		ev, err := decodeEventValue(v)
		if err != nil || ev.Seq != getUint(k) {
			bad++
			return nil
		}
		f.addEvent(ev)
		return nil
	})
	if err == nil && bad > 0 {
		err = fmt.Errorf("%d damaged events", bad)
	}
	return err
}

func (f *found) readOutbox(tx *bolt.Tx) error {
	outbox, events := tx.Bucket(bucketOutbox), tx.Bucket(bucketEvents)
	if outbox == nil || events == nil {
		return fmt.Errorf("no outbox or events bucket")
	}
	f.boltSeq = events.Sequence()
	err := outbox.ForEach(func(k, _ []byte) error {
		if len(k) != 8 {
			return fmt.Errorf("outbox key of %d bytes", len(k))
		}
		f.outbox[getUint(k)] = true
		return nil
	})
	f.outboxWhole = err == nil
	return err
}

func (f *found) readSnaps(tx *bolt.Tx) error {
	incidents := tx.Bucket(bucketIncidents)
	if incidents == nil {
		return fmt.Errorf("no incidents bucket")
	}
	return incidents.ForEach(func(k, v []byte) error {
		s, stamp, err := decodeStoredSnapshot(v)
		if err == nil && s.ID == string(k) {
			f.addSnap(foundSnap{Snapshot: s, stamp: stamp, live: true})
		}
		return nil
	})
}

func (f *found) readClips(tx *bolt.Tx) error {
	clips := tx.Bucket(bucketClips)
	if clips == nil {
		return nil // written before clips existed
	}
	return clips.ForEach(func(k, v []byte) error {
		if c, err := decodeClip(k, v); err == nil {
			f.clips = append(f.clips, c)
		}
		return nil
	})
}

// readOthers keeps the flat keys of every top-level bucket this program
// does not know: a newer program's additive buckets (format.go) survive
// a salvage by an older one. Nested buckets in them are left out.
func (f *found) readOthers(tx *bolt.Tx) error {
	known := map[string]bool{}
	for _, name := range slices.Concat(allBuckets, addedBuckets) {
		known[string(name)] = true
	}
	return tx.ForEach(func(name []byte, b *bolt.Bucket) error {
		if known[string(name)] {
			return nil
		}
		kv := map[string][]byte{}
		f.others[string(name)] = kv
		return b.ForEach(func(k, v []byte) error {
			if v != nil {
				kv[string(k)] = bytes.Clone(v)
			}
			return nil
		})
	})
}

// scanChunk and scanOverlap size the raw scan's reads: a record longer
// than scanOverlap is found by bbolt's reads only.
const (
	scanChunk   = 4 << 20
	scanOverlap = 1 << 20
)

// scanFile finds every sealed record in the file's bytes, live or in a
// freed page, and keeps the events and snapshots among them.
func (f *found) scanFile(path string) error {
	file, err := os.Open(path)
	if err != nil {
		return err
	}
	defer file.Close()
	info, err := file.Stat()
	if err != nil {
		return err
	}
	buf := make([]byte, min(info.Size(), scanOverlap+scanChunk))
	for off := int64(0); off < info.Size(); off += scanChunk {
		from := max(0, off-scanOverlap)
		n, err := file.ReadAt(buf[:min(int64(len(buf)), off+scanChunk-from)], from)
		if n == 0 && err != nil {
			return err
		}
		f.scanBytes(buf[:n], int(off-from))
	}
	return nil
}

// scanBytes keeps the sealed records of b whose suffix ends at or after
// b[from:]'s start.
func (f *found) scanBytes(b []byte, from int) {
	head := []byte(sealHead)
	for i := from - sealLen; i < len(b); {
		k := bytes.Index(b[max(i, 0):], head)
		if k < 0 {
			return
		}
		at := max(i, 0) + k
		i = at + 1
		end := at + sealLen
		if end > len(b) || end-from <= 0 {
			continue
		}
		if start := sealedAt(b, end); start >= 0 {
			f.addScanned(b[start:end])
		}
	}
}

// addScanned keeps one intact record found by the raw scan.
func (f *found) addScanned(v []byte) {
	if ev, err := decodeEventValue(v); err == nil && ev.Kiosk != "" {
		f.addEvent(ev)
		return
	}
	if s, stamp, err := decodeStoredSnapshot(v); err == nil && stamp > 0 && bytes.Contains(v, []byte(`"open":`)) {
		f.addSnap(foundSnap{Snapshot: s, stamp: stamp})
	}
}

// ScanEvents returns, in no particular order, the intact events a raw
// scan finds in the bytes of a journal file, live or in freed pages, one
// per id: what a salvage recovers from b without bbolt's help. The fault
// harness uses it to tell which events survived a damage.
func ScanEvents(b []byte) []Event {
	f := &found{events: map[string]Event{}, snaps: map[string]foundSnap{}}
	f.scanBytes(b, 0)
	return slices.Collect(maps.Values(f.events))
}
