package journal

import (
	"bytes"
	"strings"

	bolt "go.etcd.io/bbolt"
)

// OpenIncidents returns, ordered by id, the snapshots whose last put had
// Open=true.
func (j *Journal) OpenIncidents() ([]Snapshot, error) {
	var out []Snapshot
	err := j.view("open incidents", func(tx *bolt.Tx) error {
		incidents := tx.Bucket(bucketIncidents)
		c := tx.Bucket(bucketOpen).Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			s, err := decodeSnapshot(incidents.Get(k))
			if err != nil {
				return err
			}
			out = append(out, s)
		}
		return nil
	})
	return out, err
}

// Incident returns one snapshot by id; ok is false if there is none.
func (j *Journal) Incident(id string) (s Snapshot, ok bool, err error) {
	err = j.view("incident", func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketIncidents).Get([]byte(id))
		if v == nil {
			return nil
		}
		s, err = decodeSnapshot(v)
		ok = err == nil
		return err
	})
	return s, ok, err
}

// IncidentEvents returns every event of one incident in seq order, but
// for acked telemetry and, once the incident is closed, history pruned to
// make room (see prune.go).
func (j *Journal) IncidentEvents(id string) ([]Event, error) {
	if strings.IndexByte(id, 0) >= 0 {
		return nil, nil // Append never stores such an id
	}
	var out []Event
	err := j.view("incident events", func(tx *bolt.Tx) error {
		events := tx.Bucket(bucketEvents)
		prefix := incidentPrefix(id)
		c := tx.Bucket(bucketIncEvents).Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			ev, err := decodeEvent(events, k[len(prefix):])
			if err != nil {
				return err
			}
			out = append(out, ev)
		}
		return nil
	})
	return out, err
}

// LastSeq returns the highest seq stored, 0 if none.
func (j *Journal) LastSeq() (uint64, error) {
	var seq uint64
	err := j.view("last seq", func(tx *bolt.Tx) error {
		seq = tx.Bucket(bucketEvents).Sequence()
		return nil
	})
	return seq, err
}
