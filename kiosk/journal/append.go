package journal

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Append stores recs as events and puts snaps, in one fsynced bbolt
// transaction, and returns the stored events in order. Every new event is
// pending in the outbox until acked. wall becomes the clock floor if it is
// later than the stored one. Nothing is stored if anything fails.
//
// Critical records are stored or the call fails; with no space left the
// error wraps ErrFull. The last 64 pages are never used by Append: they
// let Ack, which frees space, work on a full disk. Before refusing
// telemetry or failing with ErrFull, Append prunes delivered history if
// space is short (see prune.go). Telemetry records may be left out, and are then
// counted in Stats.TelemetryDropped: those beyond TelemetryBudget in one
// call (the earliest go), and all of them when storing them would eat
// into the reserve. The returned events are the stored ones, so there may
// be fewer than recs; if nothing at all is left to store, the error wraps
// ErrTelemetryRefused. Storing telemetry beyond the budget drops the
// oldest pending telemetry in the same transaction.
func (j *Journal) Append(wall time.Time, clockSynced bool, recs []Record, snaps []Snapshot) ([]Event, error) {
	if len(recs) == 0 && len(snaps) == 0 {
		return nil, nil
	}
	wall = wall.UTC() // also drops the monotonic reading
	evs, err := j.newEvents(wall, clockSynced, recs)
	if err != nil {
		return nil, err
	}
	snaps, err = checkSnapshots(snaps)
	if err != nil {
		return nil, err
	}
	if evs = j.admit(evs); len(evs) == 0 && len(snaps) == 0 {
		return nil, fmt.Errorf("journal: append: %w", ErrTelemetryRefused)
	}
	if err := j.roomForCritical(); err != nil {
		if !j.pruned() {
			return nil, err
		}
		if err := j.roomForCritical(); err != nil {
			return nil, err
		}
	}
	drops := j.unsaved.Swap(0)
	err = j.update("append", func(tx *bolt.Tx) error {
		if err := j.putEvents(bucketsOf(tx), evs, drops); err != nil {
			return err
		}
		if err := putSnapshots(tx, snaps); err != nil {
			return err
		}
		if err := clearSalvageReport(tx.Bucket(bucketMeta)); err != nil {
			return err
		}
		return raiseFloor(tx.Bucket(bucketMeta), wall)
	})
	if err != nil {
		j.unsaved.Add(drops)
		return nil, err
	}
	j.noteFloor(wall)
	if len(snaps) > 0 {
		j.history.Add(1) // an incident may have closed
	}
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
			Telemetry: r.Telemetry, Urgent: r.Urgent,
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
	case r.Telemetry && r.Urgent:
		return fmt.Errorf("%w: telemetry cannot be urgent", ErrInvalid)
	}
	return nil
}

// newID returns 16 random bytes in hex. crypto/rand.Read never fails.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// checkSnapshots validates snaps and returns copies with compact data.
func checkSnapshots(snaps []Snapshot) ([]Snapshot, error) {
	out := make([]Snapshot, len(snaps))
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
		out[i] = s
	}
	return out, nil
}

// putEvents numbers evs and writes them with their outbox, index and
// incident entries, then holds pending telemetry to the budget and
// updates the counters, adding drops refused earlier.
func (j *Journal) putEvents(b buckets, evs []Event, drops uint64) error {
	c := readCounters(b.meta)
	firstNew := b.events.Sequence() + 1
	for i := range evs {
		if err := putEvent(b, &evs[i]); err != nil {
			return err
		}
		if evs[i].Telemetry {
			c.telemetry++
		} else {
			c.critical++
		}
	}
	if budget := uint64(j.opts.TelemetryBudget); c.telemetry > budget {
		n, err := dropOldestTelemetry(b, c.telemetry-budget, firstNew)
		if err != nil {
			return err
		}
		c.telemetry -= n
		c.dropped += n
	}
	c.dropped += drops
	if err := j.hwm.reserve(b.events.Sequence()); err != nil {
		// Handled: the alarm matters more; only a later salvage would
		// lack the mark.
		slog.Error("journal: cannot reserve seqs in the high-water mark", "err", err)
	}
	return c.put(b.meta)
}

// putEvent numbers ev and writes it and its entries.
func putEvent(b buckets, ev *Event) error {
	seq, err := b.events.NextSequence()
	if err != nil {
		return err
	}
	ev.Seq = seq
	v, err := encodeEvent(*ev)
	if err != nil {
		return fmt.Errorf("event %d: %w", seq, err)
	}
	k := seqKey(seq)
	puts := []struct {
		b    *bolt.Bucket
		k, v []byte
		when bool
	}{
		{b.events, k, v, true},
		{b.outbox, k, present, true},
		{b.ids, []byte(ev.ID), k, true},
		{b.urgent, k, present, ev.Urgent},
		{b.telemetry, k, present, ev.Telemetry},
		{b.incEvents, incidentKey(ev.Incident, seq), present, ev.Incident != ""},
	}
	for _, p := range puts {
		if !p.when {
			continue
		}
		if err := p.b.Put(p.k, p.v); err != nil {
			return err
		}
	}
	return nil
}

// putSnapshots stores snaps, each stamped with the next value of the
// incidents bucket's sequence (see storedSnapshot).
func putSnapshots(tx *bolt.Tx, snaps []Snapshot) error {
	incidents, open := tx.Bucket(bucketIncidents), tx.Bucket(bucketOpen)
	for _, s := range snaps {
		id := []byte(s.ID)
		stamp, err := incidents.NextSequence()
		if err != nil {
			return err
		}
		v, err := sealJSON(storedSnapshot{ID: s.ID, Open: s.Open, Data: s.Data, Stamp: stamp})
		if err != nil {
			return fmt.Errorf("snapshot %q: %w", s.ID, err)
		}
		if err := incidents.Put(id, v); err != nil {
			return err
		}
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
