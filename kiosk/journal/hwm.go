package journal

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
)

// The high-water mark.
//
// A small side file beside the journal, path+".hwm", holds the highest
// boot epoch started and a seq up to which seqs may have been used
// ("reserved"). It lets a journal rebuilt from a damaged or missing file
// continue above every (boot epoch, seq) ever used, even when the pages
// holding the newest events and the meta page are destroyed: a salvage
// starts at max(boot epochs seen, the mark's) + 1 and seq above the
// reservation.
//
// Seqs are reserved in blocks of seqBlock, so the mark costs one extra
// write per block of events, not one per alarm, and a salvage may leave a
// gap of up to seqBlock seqs, which the platform sees as a gap, never as
// a repeat. Open writes it once (the new epoch).
//
// The file is two 512-byte slots written in place alternately, each a
// sealed JSON object (see record.go) with a generation; the valid slot
// with the higher generation wins. Writing in place needs no new disk
// block, so the mark can still be written on a full disk, where an
// alarm must still be stored; a torn write spoils one slot only. Each
// write is fsynced before the journal transaction that relies on it
// commits.
const (
	seqBlock = 10_000
	hwmSlot  = 512
)

// mark is one slot's content.
type mark struct {
	Gen      uint64 `json:"gen"`
	Epoch    uint64 `json:"boot_epoch"`
	Reserved uint64 `json:"seq_reserved"`
}

// hwmFile is the side file of one open journal.
type hwmFile struct {
	path string
	mu   sync.Mutex
	cur  mark // as last written or read
}

func hwmPath(journal string) string { return journal + ".hwm" }

// readMark returns the mark at path; ok is false when there is none or
// neither slot is intact.
func readMark(path string) (m mark, ok bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return mark{}, false
	}
	for off := 0; off+hwmSlot <= len(b) && off < 2*hwmSlot; off += hwmSlot {
		slot := bytes.TrimRight(b[off:off+hwmSlot], "\x00")
		body, st := unseal(slot)
		var s mark
		if st != sealOK || json.Unmarshal(body, &s) != nil {
			continue
		}
		if !ok || s.Gen > m.Gen {
			m, ok = s, true
		}
	}
	return m, ok
}

// write stores m, in the slot the current generation does not use, and
// fsyncs it. The file is created, both slots sized, on first use.
func (h *hwmFile) write(m mark) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	m.Gen = h.cur.Gen + 1
	v, err := sealJSON(m)
	if err != nil || len(v) > hwmSlot {
		return fmt.Errorf("journal: high-water mark: encode: %v", err)
	}
	_, statErr := os.Stat(h.path)
	f, err := os.OpenFile(h.path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("journal: high-water mark: %w", err)
	}
	defer f.Close()
	slot := make([]byte, hwmSlot)
	copy(slot, v)
	if _, err := f.WriteAt(slot, int64(m.Gen%2)*hwmSlot); err != nil {
		return fmt.Errorf("journal: high-water mark: write: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("journal: high-water mark: sync: %w", err)
	}
	if errors.Is(statErr, fs.ErrNotExist) {
		if err := syncDir(filepath.Dir(h.path)); err != nil {
			return fmt.Errorf("journal: high-water mark: %w", err)
		}
	}
	h.cur = m
	return nil
}

// reserved returns the seq reserved so far.
func (h *hwmFile) reserved() uint64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.cur.Reserved
}

// reserve raises the reservation so that seqs up to last are covered,
// writing the mark when they are not yet.
func (h *hwmFile) reserve(last uint64) error {
	h.mu.Lock()
	m := h.cur
	h.mu.Unlock()
	if last <= m.Reserved {
		return nil
	}
	m.Reserved = last + seqBlock
	return h.write(m)
}
