package journal

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Append stores recs as events and puts snaps, in one fsynced bbolt
// transaction, and returns the stored events in order. Every new event is
// pending in the outbox until acked. wall becomes the clock floor if it is
// later than the stored one. Nothing is stored if anything fails.
func (j *Journal) Append(wall time.Time, clockSynced bool, recs []Record, snaps []Snapshot) ([]Event, error) {
	if len(recs) == 0 && len(snaps) == 0 {
		return nil, nil
	}
	wall = wall.UTC() // also drops the monotonic reading
	evs, err := j.newEvents(wall, clockSynced, recs)
	if err != nil {
		return nil, err
	}
	snapVals, err := encodeSnapshots(snaps)
	if err != nil {
		return nil, err
	}
	err = j.update("append", func(tx *bolt.Tx) error {
		if err := putEvents(tx, evs); err != nil {
			return err
		}
		if err := putSnapshots(tx, snaps, snapVals); err != nil {
			return err
		}
		return raiseFloor(tx.Bucket(bucketMeta), wall)
	})
	if err != nil {
		return nil, err
	}
	j.noteFloor(wall)
	return evs, nil
}

// newEvents validates recs and builds their events, all but Seq.
func (j *Journal) newEvents(wall time.Time, synced bool, recs []Record) ([]Event, error) {
	evs := make([]Event, len(recs))
	for i, r := range recs {
		if err := checkRecord(r); err != nil {
			return nil, fmt.Errorf("journal: append: record %d: %w", i, err)
		}
		data, err := compactJSON(r.Data)
		if err != nil {
			return nil, fmt.Errorf("journal: append: record %d: %w", i, err)
		}
		evs[i] = Event{
			ID: newID(), Kiosk: j.kiosk, BootEpoch: j.epoch,
			Type: r.Type, Incident: r.Incident,
			Time: wall, ClockSynced: synced, Data: data,
		}
	}
	return evs, nil
}

func checkRecord(r Record) error {
	switch {
	case r.Type == "":
		return fmt.Errorf("%w: no type", ErrInvalid)
	case len(r.Incident) > maxIDLen:
		return fmt.Errorf("%w: incident id longer than %d bytes", ErrInvalid, maxIDLen)
	case strings.IndexByte(r.Incident, 0) >= 0:
		return fmt.Errorf("%w: incident id contains a NUL byte", ErrInvalid)
	}
	return nil
}

// newID returns 16 random bytes in hex. crypto/rand.Read never fails.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func encodeSnapshots(snaps []Snapshot) ([][]byte, error) {
	vals := make([][]byte, len(snaps))
	for i, s := range snaps {
		if s.ID == "" || len(s.ID) > maxIDLen {
			return nil, fmt.Errorf("journal: append: snapshot %d: %w: id empty or longer than %d bytes",
				i, ErrInvalid, maxIDLen)
		}
		data, err := compactJSON(s.Data)
		if err != nil {
			return nil, fmt.Errorf("journal: append: snapshot %q: %w", s.ID, err)
		}
		s.Data = data
		if vals[i], err = json.Marshal(s); err != nil {
			return nil, fmt.Errorf("journal: append: snapshot %q: %w", s.ID, err)
		}
	}
	return vals, nil
}

// putEvents numbers evs and writes them with their outbox, id and
// incident entries.
func putEvents(tx *bolt.Tx, evs []Event) error {
	events := tx.Bucket(bucketEvents)
	// Keys only ever grow: full pages, not bbolt's half-full default,
	// halve the file.
	events.FillPercent = 1
	tx.Bucket(bucketOutbox).FillPercent = 1
	for i := range evs {
		seq, err := events.NextSequence()
		if err != nil {
			return err
		}
		evs[i].Seq = seq
		v, err := json.Marshal(evs[i])
		if err != nil {
			return fmt.Errorf("event %d: %w", seq, err)
		}
		k := seqKey(seq)
		if err := events.Put(k, v); err != nil {
			return err
		}
		if err := tx.Bucket(bucketOutbox).Put(k, present); err != nil {
			return err
		}
		if err := tx.Bucket(bucketIDs).Put([]byte(evs[i].ID), k); err != nil {
			return err
		}
		if evs[i].Incident == "" {
			continue
		}
		if err := tx.Bucket(bucketIncEvents).Put(incidentKey(evs[i].Incident, seq), present); err != nil {
			return err
		}
	}
	return nil
}

func putSnapshots(tx *bolt.Tx, snaps []Snapshot, vals [][]byte) error {
	incidents, open := tx.Bucket(bucketIncidents), tx.Bucket(bucketOpen)
	for i, s := range snaps {
		id := []byte(s.ID)
		if err := incidents.Put(id, vals[i]); err != nil {
			return err
		}
		var err error
		if s.Open {
			err = open.Put(id, present)
		} else {
			err = open.Delete(id)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func raiseFloor(meta *bolt.Bucket, wall time.Time) error {
	var floor time.Time
	if v := meta.Get(keyFloor); v != nil {
		if err := floor.UnmarshalBinary(v); err != nil {
			return fmt.Errorf("clock floor: %w: %w", ErrCorrupt, err)
		}
	}
	if !wall.After(floor) {
		return nil
	}
	v, err := wall.MarshalBinary()
	if err != nil {
		return fmt.Errorf("clock floor: %w", err)
	}
	return meta.Put(keyFloor, v)
}
