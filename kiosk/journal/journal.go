// Package journal is the post's durable truth: one bbolt file holding an
// append-only event log, the outbox of events the platform has not yet
// acknowledged, and the incident projection written in the same transaction
// as the events that changed it.
//
// Every write is one fsynced bbolt transaction. Events are numbered by a
// gap-free sequence that survives restarts and are stamped with the kiosk id
// and a boot epoch, so the platform can dedupe and spot gaps.
package journal

import (
	"encoding/json"
	"errors"
	"fmt"
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
)

// Options configures Open.
type Options struct {
	KioskID string        // required, stamped on every event
	Timeout time.Duration // bbolt file-lock timeout; zero means 1s. Never wait for ever.
}

// Record is what a caller appends.
type Record struct {
	Type     string          // e.g. "incident.registered"
	Incident string          // incident id, "" if none
	Data     json.RawMessage // may be nil
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
	kiosk     string
	epoch     uint64
	recovered string
	closed    atomic.Bool

	mu    sync.Mutex // guards floor
	floor time.Time
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

// Recovered returns the path the previous, unreadable file was moved to at
// Open, or "" if Open found nothing wrong.
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

// CheckWritable does a tiny fsynced write, for the health check.
func (j *Journal) CheckWritable() error {
	return j.update("check writable", func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		n := getUint(meta.Get(keyHeartbeat))
		return meta.Put(keyHeartbeat, putUint(n+1))
	})
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
	default:
		return fmt.Errorf("journal: %s: %w", op, err)
	}
}
