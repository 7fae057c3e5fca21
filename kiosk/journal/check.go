package journal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"slices"
	"time"
)

// precheck runs checkFile on the file at path under a shared lock, so that
// no writer changes it meanwhile. A missing or unreadable file is left to
// bbolt to report.
func precheck(path string, timeout time.Duration) error {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close() // also drops the lock
	if err := lockShared(f, timeout); err != nil {
		return err
	}
	return checkFile(f)
}

// metaDamaged reports a file with exactly one intact meta page. bbolt
// would silently use the other, older one: the newest transaction's
// events would vanish and their seqs be used again. It cannot tell a
// meta page torn by a power cut during a commit (that transaction never
// returned) from a destroyed one, so both are salvaged; the salvage finds
// the newer transaction's events in the raw bytes (see salvage.go).
func metaDamaged(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	offs := metaOffsets(f)
	if len(offs) == 0 {
		return false // none intact: bbolt reports it, or the file is empty
	}
	if len(offs) == 1 {
		return true // the first is damaged
	}
	_, ok := parseMeta(f, offs[1])
	return !ok
}

// checkFile walks the bbolt file at f before bbolt reads it. bbolt trusts
// the file: a branch page that points back up its own path, or a page of
// unknown type (bbolt reads any page that is not a leaf as a branch),
// makes its cursor loop until memory runs out; a damaged freelist count
// makes it allocate without bound; a page whose header holds another id
// makes it free the wrong page on the next write. None of it can be
// recovered from. So every page reachable from the meta page bbolt will
// use is read once and must be a well-formed branch or leaf holding its
// own id, with elements within the page, reached once, at a sane depth;
// the freelist must be well formed and list no live page. A file that
// fails is refused (ErrCorrupt, set aside). Damaged values inside a
// well-formed leaf pass: reading them fails with ErrCorrupt later, which
// the journal survives. Its cost is one read of the file.
func checkFile(f *os.File) error {
	m, ok := readMeta(f)
	if !ok {
		return nil // bbolt reports unreadable meta pages itself
	}
	info, err := f.Stat()
	if err != nil {
		return nil // bbolt reports it
	}
	if m.pgid > uint64(info.Size())/uint64(m.pageSize) {
		// bbolt would read pages past the end, and may panic inside
		// bolt.Open, leaking its mapping and the file lock it holds.
		return fmt.Errorf("%w: %w to %d of %d bytes", ErrCorrupt, errTruncated, info.Size(), m.pgid*uint64(m.pageSize))
	}
	w := &walker{f: f, page: int64(m.pageSize), hwm: m.pgid, seen: make([]bool, m.pgid)}
	free, err := w.freelist(m.freelist)
	if err == nil {
		err = w.tree(m.root, 0)
	}
	for _, id := range free {
		if err == nil && w.seen[id] {
			err = fmt.Errorf("%w: page %d is both free and in use", errUnsafe, id)
		}
	}
	if errors.Is(err, errUnsafe) {
		return fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	return nil // I/O errors are bbolt's to report
}

// Constants of bbolt's file format, version 2.
const (
	boltMagic      = 0xED0CDAED
	boltVersion    = 2
	pageHeader     = 16
	elementSize    = 16
	branchFlag     = 0x01
	leafFlag       = 0x02
	freelistFlag   = 0x10
	bucketLeafFlag = 0x01
	noFreelist     = ^uint64(0)
	maxDepth       = 64
)

type boltMeta struct {
	pageSize                   uint32
	root, freelist, pgid, txid uint64
}

// readMeta returns the meta page bbolt will use: the valid one with the
// higher txid.
func readMeta(f *os.File) (boltMeta, bool) {
	var best boltMeta
	found := false
	for _, off := range metaOffsets(f) {
		m, ok := parseMeta(f, off)
		if ok && (!found || m.txid > best.txid) {
			best, found = m, true
		}
	}
	return best, found && best.pageSize >= 1024 && best.pgid >= 2
}

// metaOffsets returns where the two meta pages are, read from the first
// valid one, as bbolt finds them.
func metaOffsets(f *os.File) []int64 {
	if m, ok := parseMeta(f, 0); ok {
		return []int64{0, int64(m.pageSize)}
	}
	for i := range 15 {
		if m, ok := parseMeta(f, 1024<<i); ok && int64(m.pageSize) == 1024<<i {
			return []int64{1024 << i}
		}
	}
	return nil
}

func parseMeta(f *os.File, off int64) (boltMeta, bool) {
	var b [pageHeader + 64]byte
	if _, err := f.ReadAt(b[:], off); err != nil {
		return boltMeta{}, false
	}
	m := b[pageHeader:]
	le := binary.NativeEndian
	h := fnv.New64a()
	h.Write(m[:56])
	if le.Uint32(m[0:]) != boltMagic || le.Uint32(m[4:]) != boltVersion || le.Uint64(m[56:]) != h.Sum64() {
		return boltMeta{}, false
	}
	return boltMeta{pageSize: le.Uint32(m[8:]), root: le.Uint64(m[16:]),
		freelist: le.Uint64(m[32:]), pgid: le.Uint64(m[40:]), txid: le.Uint64(m[48:])}, true
}

// walker reads pages below the high-water mark, each at most once.
type walker struct {
	f    *os.File
	page int64
	hwm  uint64
	seen []bool
}

// errUnsafe marks a file bbolt cannot use without hanging, exhausting
// memory or damaging it further.
var errUnsafe = errors.New("unsafe structure")

// errTruncated marks a file shorter than its meta page says.
var errTruncated = errors.New("truncated")

// read returns page id, whose flags must be one of flags, with its
// overflow pages, marking them seen.
func (w *walker) read(id uint64, flags ...uint16) ([]byte, error) {
	if id < 2 || id >= w.hwm {
		return nil, fmt.Errorf("%w: page %d past the last page %d", errUnsafe, id, w.hwm)
	}
	head := make([]byte, pageHeader)
	if _, err := w.f.ReadAt(head, int64(id)*w.page); err != nil {
		return nil, fmt.Errorf("page %d: %w", id, err)
	}
	le := binary.NativeEndian
	over := uint64(le.Uint32(head[12:]))
	switch {
	case le.Uint64(head) != id:
		return nil, fmt.Errorf("%w: page %d holds id %d", errUnsafe, id, le.Uint64(head))
	case !slices.Contains(flags, le.Uint16(head[8:])):
		return nil, fmt.Errorf("%w: page %d has flags %#x", errUnsafe, id, le.Uint16(head[8:]))
	case id+over >= w.hwm:
		return nil, fmt.Errorf("%w: page %d: %d overflow pages past the end", errUnsafe, id, over)
	}
	for p := id; p <= id+over; p++ {
		if w.seen[p] {
			return nil, fmt.Errorf("%w: page %d reached twice", errUnsafe, p)
		}
		w.seen[p] = true
	}
	buf := make([]byte, int64(over+1)*w.page)
	if _, err := w.f.ReadAt(buf, int64(id)*w.page); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("page %d: %w", id, err)
	}
	return buf, nil
}

// freelist returns the ids the freelist page lists. Any damage to it is
// unsafe: bbolt trusts its count.
func (w *walker) freelist(id uint64) ([]uint64, error) {
	if id == noFreelist {
		return nil, nil
	}
	p, err := w.read(id, freelistFlag)
	if err != nil {
		return nil, fmt.Errorf("freelist: %w", err)
	}
	le := binary.NativeEndian
	start, n := uint64(pageHeader), uint64(le.Uint16(p[10:]))
	if n == 0xFFFF {
		n, start = le.Uint64(p[pageHeader:]), pageHeader+8
	}
	if n > (uint64(len(p))-start)/8 {
		return nil, fmt.Errorf("%w: freelist page %d: %d ids do not fit", errUnsafe, id, n)
	}
	ids := make([]uint64, n)
	for i := range ids {
		ids[i] = le.Uint64(p[start+8*uint64(i):])
		if ids[i] < 2 || ids[i] >= w.hwm {
			return nil, fmt.Errorf("%w: freelist page %d: id %d out of range", errUnsafe, id, ids[i])
		}
	}
	return ids, nil
}

// tree checks the B+tree rooted at page id, and the buckets it holds.
func (w *walker) tree(id uint64, depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("%w: page %d: tree deeper than %d", errUnsafe, id, maxDepth)
	}
	p, err := w.read(id, branchFlag, leafFlag)
	if err != nil {
		return err
	}
	if binary.NativeEndian.Uint16(p[8:]) == leafFlag {
		return w.leaf(p, id, depth)
	}
	return w.branch(p, id, depth)
}

func (w *walker) branch(p []byte, id uint64, depth int) error {
	le := binary.NativeEndian
	n := int(le.Uint16(p[10:]))
	if n == 0 || pageHeader+n*elementSize > len(p) {
		return fmt.Errorf("%w: branch page %d: %d elements", errUnsafe, id, n)
	}
	for i := range n {
		e := p[pageHeader+i*elementSize:]
		if !fits(p, pageHeader+i*elementSize, le.Uint32(e), le.Uint32(e[4:]), 0) {
			return fmt.Errorf("%w: branch page %d: element %d past the page", errUnsafe, id, i)
		}
		if err := w.tree(le.Uint64(e[8:]), depth+1); err != nil {
			return err
		}
	}
	return nil
}

// leaf checks a leaf page, or an inline bucket's page, and walks the
// buckets whose roots it holds.
func (w *walker) leaf(p []byte, id uint64, depth int) error {
	le := binary.NativeEndian
	n := int(le.Uint16(p[10:]))
	if pageHeader+n*elementSize > len(p) {
		return fmt.Errorf("%w: leaf page %d: %d elements", errUnsafe, id, n)
	}
	for i := range n {
		at := pageHeader + i*elementSize
		e := p[at:]
		pos, ksize, vsize := le.Uint32(e[4:]), le.Uint32(e[8:]), le.Uint32(e[12:])
		if !fits(p, at, pos, ksize, vsize) {
			return fmt.Errorf("%w: leaf page %d: element %d past the page", errUnsafe, id, i)
		}
		if le.Uint32(e)&bucketLeafFlag == 0 {
			continue
		}
		v := p[at+int(pos)+int(ksize):][:vsize]
		if err := w.bucket(v, id, depth); err != nil {
			return err
		}
	}
	return nil
}

// bucket checks a bucket value: a root page, or an inline page after the
// 16-byte header.
func (w *walker) bucket(v []byte, id uint64, depth int) error {
	if len(v) < 16 {
		return fmt.Errorf("%w: page %d: bucket value of %d bytes", errUnsafe, id, len(v))
	}
	if root := binary.NativeEndian.Uint64(v); root != 0 {
		return w.tree(root, depth+1)
	}
	// bbolt reads an inline page that is not a leaf as a branch whose
	// children are itself.
	inline := v[16:]
	if len(inline) < pageHeader || binary.NativeEndian.Uint16(inline[8:]) != leafFlag {
		return fmt.Errorf("%w: page %d: inline bucket is not a leaf", errUnsafe, id)
	}
	if depth+1 > maxDepth {
		return fmt.Errorf("%w: page %d: buckets nested deeper than %d", errUnsafe, id, maxDepth)
	}
	return w.leaf(inline, id, depth+1)
}

// fits reports whether an element's key and value, at pos from the
// element at offset at, lie within p.
func fits(p []byte, at int, pos, ksize, vsize uint32) bool {
	return uint64(at)+uint64(pos)+uint64(ksize)+uint64(vsize) <= uint64(len(p))
}
