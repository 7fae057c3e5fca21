// Package journal is the post's durable truth: one bbolt file holding an
// append-only event log, the outbox of events the platform has not yet
// acknowledged, and the incident projection written in the same transaction
// as the events that changed it.
//
// Every write is one fsynced bbolt transaction. Events are numbered by a
// gap-free sequence that survives restarts and are stamped with the kiosk id
// and a boot epoch, so the platform can dedupe and spot gaps.
//
// A damaged file does not lose what is still readable in it. Every event
// and snapshot value carries its own checksum (record.go), so Open checks
// all of them, not only the pages it happens to read, and a raw scan of a
// damaged file's bytes finds every intact record even where bbolt's pages
// no longer lead to it. A side file holds a high-water mark of boot epochs
// and seqs (hwm.go). Open rebuilds a damaged journal from bbolt's reads
// and the raw scan: unacked events go back into the outbox with their
// original ids, open incidents come back, and seq and epoch continue
// above everything ever used, even when the newest pages or the meta
// pages are gone; see salvage.go. Why this design: bbolt keeps no
// checksums of its own pages (only of its meta pages), so without
// self-describing records the bytes of a damaged file cannot be told from
// garbage; and seqs cannot be read back from pages that are destroyed, so
// the highest ever used must live somewhere else. A mirror file of
// unacked alarms was the alternative: it would double every alarm's
// fsyncs, where the checksum costs nothing at write time and the mark one
// write per 10,000 events.
//
// Events are critical (alarms, incident changes, faults: never dropped) or
// telemetry (camera status and the like: bounded, oldest dropped first,
// refused when space runs short). Space for critical events is reserved
// inside the file's own disk blocks, so an alarm is still stored when the
// disk is full or the size cap is reached; see reserve.go. Acked critical
// events are kept as history until space gets short, then the oldest are
// pruned, never those of an open incident; see prune.go.
package journal

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

var (
	// ErrClosed is returned by every method called after Close.
	ErrClosed = errors.New("journal: closed")
	// ErrInvalid is returned, wrapped, for caller input the journal will not
	// store: a missing kiosk id, a record without type, invalid JSON data, a
	// non-positive limit.
	ErrInvalid = errors.New("journal: invalid input")
	// ErrCorrupt is returned, wrapped, when the file's structure is damaged.
	// Open sets such a file aside itself; from any other method it means the
	// caller should raise a fault and reopen the journal.
	ErrCorrupt = errors.New("journal: corrupt file")
	// ErrSchemaTooNew is returned, wrapped, by Open for a journal written by
	// a newer kioskd. The file is left alone: it is not corrupt.
	ErrSchemaTooNew = errors.New("journal: schema newer than this program")
	// ErrFull is returned, wrapped, by a write that found no space left:
	// the disk is full or the size cap is reached, and the reserve kept
	// for critical events is used up. Nothing of that write was stored.
	ErrFull = errors.New("journal: no space left")
	// ErrTelemetryRefused is returned, wrapped, by an Append whose records
	// were all telemetry and were all refused to keep the reserve for
	// critical events. They are counted in Stats.TelemetryDropped. It is
	// not a fault of the journal: the caller may ignore it.
	ErrTelemetryRefused = errors.New("journal: telemetry refused, space kept for alarms")
)

// Defaults for Options.
const (
	DefaultTelemetryBudget = 10_000
	DefaultReserve         = 2 << 20
)

// Options configures Open.
type Options struct {
	KioskID string        // required, stamped on every event
	Timeout time.Duration // bbolt file-lock timeout; zero means 1s. Never wait for ever.
	// TelemetryBudget is the most telemetry events pending in the outbox;
	// beyond it the oldest are dropped. Zero means DefaultTelemetryBudget.
	TelemetryBudget int
	// MaxSize caps the file, in bytes; zero means no cap. bbolt cannot use
	// its last megabyte (see reserve.go); it must be at least
	// 2×Reserve + 2 MiB.
	MaxSize int64
	// Reserve is the space, in bytes, kept for critical events: telemetry
	// is refused rather than eat into it. Zero means DefaultReserve.
	Reserve int64
}

// Record is what a caller appends.
type Record struct {
	Type     string          // e.g. "incident.registered"
	Incident string          // incident id, "" if none
	Data     json.RawMessage // may be nil
	// Telemetry marks an event that may be dropped: the zero value,
	// critical, is never dropped by any path.
	Telemetry bool
	// Urgent marks a new alarm that must jump the queue of a backlog; see
	// Journal.Urgent. A record cannot be both Urgent and Telemetry.
	Urgent bool
}

// Event is a stored record with its envelope.
type Event struct {
	ID          string          `json:"id"` // 16 random bytes, hex
	Kiosk       string          `json:"kiosk"`
	BootEpoch   uint64          `json:"boot_epoch"`
	Seq         uint64          `json:"seq"` // gap-free, strictly increasing, survives restarts
	Type        string          `json:"type"`
	Incident    string          `json:"incident,omitempty"`
	Time        time.Time       `json:"time"` // wall time given by the caller, UTC
	ClockSynced bool            `json:"clock_synced"`
	Telemetry   bool            `json:"telemetry,omitempty"`
	Urgent      bool            `json:"urgent,omitempty"`
	Data        json.RawMessage `json:"data,omitempty"`
}

// Snapshot is one incident's projection, opaque to the journal.
type Snapshot struct {
	ID   string          `json:"id"`
	Open bool            `json:"open"` // open incidents are listed by OpenIncidents
	Data json.RawMessage `json:"data,omitempty"`
}

// Journal is an open journal file. It is safe for concurrent use.
type Journal struct {
	db        *bolt.DB
	file      *os.File // bbolt's own descriptor, for fallocate and stat
	dir       string   // for statfs
	page      int64    // bbolt's page size
	opts      Options  // with defaults filled in
	kiosk     string
	epoch     uint64
	recovered string
	salvaged  Salvage
	hwm       *hwmFile // the high-water mark; see hwm.go
	closed    atomic.Bool
	// unsaved counts telemetry refused since the last write that
	// persisted the dropped counter; refusing must not cost a write.
	unsaved atomic.Uint64
	// history counts writes that may have made history prunable (acks,
	// snapshots); spent is history+1 as it was when pruning last found
	// nothing left while space was short, so that it does not scan the
	// whole file again before something changes. See prune.go.
	history, spent atomic.Uint64

	mu    sync.Mutex // guards floor
	floor time.Time

	spaceMu    sync.Mutex // guards the two below
	preallocTo int64      // end of the blocks preallocated past the last page
	noPrealloc bool       // the filesystem cannot preallocate
}

// Close closes the file. A second Close returns ErrClosed.
func (j *Journal) Close() error {
	if j.closed.Swap(true) {
		return ErrClosed
	}
	if err := j.db.Close(); err != nil {
		return fmt.Errorf("journal: close: %w", err)
	}
	return nil
}

// Recovered returns the path the previous, damaged file was moved to at
// Open, or "" if Open found nothing wrong (or the file was missing). Its
// readable content was salvaged into this journal: see Salvaged.
func (j *Journal) Recovered() string { return j.recovered }

// BootEpoch returns the boot epoch this Open started.
func (j *Journal) BootEpoch() uint64 { return j.epoch }

// KioskID returns the kiosk id stamped on every event.
func (j *Journal) KioskID() string { return j.kiosk }

// ClockFloor returns the latest wall time ever appended (zero if none).
func (j *Journal) ClockFloor() time.Time {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.floor
}

// noteFloor raises the in-memory floor after a commit; commits may finish
// out of order, hence the comparison.
func (j *Journal) noteFloor(t time.Time) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if t.After(j.floor) {
		j.floor = t
	}
}

// Touch does a tiny fsynced write, for the health check, and raises the
// persisted clock floor to wall if wall is later, so that the floor
// advances even when nothing is appended for hours. It then prunes
// delivered history if space is short (see prune.go) and tops the
// reserve up if the disk allows (see Stats.OnReserve).
func (j *Journal) Touch(wall time.Time) error {
	wall = wall.UTC()
	drops := j.unsaved.Swap(0)
	err := j.update("touch", func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		n := getUint(meta.Get(keyHeartbeat))
		if err := meta.Put(keyHeartbeat, putUint(n+1)); err != nil {
			return err
		}
		if err := addDropped(meta, drops); err != nil {
			return err
		}
		return raiseFloor(meta, wall)
	})
	if err != nil {
		j.unsaved.Add(drops)
		return err
	}
	j.noteFloor(wall)
	_, err = j.pruneHistory()
	j.keepReserve()
	return err
}

func (j *Journal) view(op string, fn func(*bolt.Tx) error) error {
	return j.run(op, false, fn)
}

func (j *Journal) update(op string, fn func(*bolt.Tx) error) error {
	return j.run(op, true, fn)
}

// run runs fn in a transaction. bbolt panics on some damaged pages, and
// reading a damaged page can fault; both become ErrCorrupt so that one bad
// page is a fault the caller reports, not a dead daemon.
func (j *Journal) run(op string, write bool, fn func(*bolt.Tx) error) (err error) {
	if j.closed.Load() {
		return ErrClosed
	}
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("journal: %s: %w: %v", op, ErrCorrupt, r)
		}
	}()
	if write {
		err = j.db.Update(fn)
	} else {
		err = j.db.View(fn)
	}
	switch {
	case err == nil:
		return nil
	case errors.Is(err, berrors.ErrDatabaseNotOpen):
		return ErrClosed
	case write && isNoSpace(err):
		return fmt.Errorf("journal: %s: %w: %w", op, ErrFull, err)
	default:
		return fmt.Errorf("journal: %s: %w", op, err)
	}
}
