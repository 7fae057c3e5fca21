package journal

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"os"
	"runtime/debug"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
)

// salvageBatch bounds the events one transaction of the rebuild writes.
const salvageBatch = 4096

// build writes the journal salvaged in f to path, a new file, and reports
// whether it is complete. A failed build leaves no file.
func build(path string, opts Options, f *found, report *Salvage) (ok bool, err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return false, fmt.Errorf("remove stale %s: %w", path, err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: opts.Timeout, MaxSize: int(opts.MaxSize)})
	if err != nil {
		return false, fmt.Errorf("create %s: %w", path, err)
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("build %s: %v", path, r)
		}
		closeQuietly(db)
		if err != nil {
			_ = os.Remove(path)
		}
	}()
	db.AllocSize = allocSize
	if err := db.Update(func(tx *bolt.Tx) error { return startSalvaged(tx, f) }); err != nil {
		return false, err
	}
	evs := f.sortedEvents()
	for len(evs) > 0 {
		n := min(len(evs), salvageBatch)
		batch := evs[:n]
		evs = evs[n:]
		if err := db.Update(func(tx *bolt.Tx) error { return f.putEvents(tx, batch, report) }); err != nil {
			return false, err
		}
	}
	err = db.Update(func(tx *bolt.Tx) error { return f.finish(tx, report) })
	if err != nil {
		return false, err
	}
	if err := db.Close(); err != nil {
		return false, fmt.Errorf("close %s: %w", path, err)
	}
	return true, nil
}

// skipMeta are the meta keys the rebuild sets itself, or Open recounts.
var skipMeta = map[string]bool{
	string(keySchema): true, string(keySchemaMinor): true, string(keyEpoch): true,
	string(keySalvage): true, string(keyPendingCritical): true, string(keyPendingTelemetry): true,
}

// startSalvaged creates the buckets and copies the readable meta keys.
func startSalvaged(tx *bolt.Tx, f *found) error {
	if _, err := prepare(tx); err != nil {
		return err
	}
	meta := tx.Bucket(bucketMeta)
	for k, v := range f.meta {
		if skipMeta[k] || (k == string(keyFloor) && new(time.Time).UnmarshalBinary(v) != nil) {
			continue
		}
		if err := meta.Put([]byte(k), v); err != nil {
			return err
		}
	}
	if err := copyOthers(tx, f.others); err != nil {
		return err
	}
	// Keep the newest format that wrote the old file.
	if minor := getUint(f.meta[string(keySchemaMinor)]); minor > schemaMinor {
		return meta.Put(keySchemaMinor, putUint(minor))
	}
	return nil
}

// copyOthers writes the buckets this program does not know.
func copyOthers(tx *bolt.Tx, others map[string]map[string][]byte) error {
	for name, kv := range others {
		b, err := tx.CreateBucketIfNotExists([]byte(name))
		if err != nil {
			return err
		}
		for k, v := range kv {
			if err := b.Put([]byte(k), v); err != nil {
				return err
			}
		}
	}
	return nil
}

// sortedEvents returns the events to store in seq order, one per seq.
func (f *found) sortedEvents() []Event {
	evs := make([]Event, 0, len(f.events))
	for _, ev := range f.events {
		if ev.Telemetry && !f.requeue(ev) {
			continue // acked telemetry is not kept
		}
		evs = append(evs, ev)
	}
	slices.SortFunc(evs, func(a, b Event) int {
		return cmp.Or(cmp.Compare(a.Seq, b.Seq), cmp.Compare(a.ID, b.ID))
	})
	// Two events with one seq can only come from a transaction that never
	// committed and one that reused its seq; the first found is kept.
	return slices.CompactFunc(evs, func(a, b Event) bool { return a.Seq == b.Seq })
}

// requeue reports whether ev goes back into the outbox: unless bbolt read
// the whole outbox, covering ev's seq, and ev was not in it.
func (f *found) requeue(ev Event) bool {
	return !f.outboxWhole || ev.Seq > f.boltSeq || f.outbox[ev.Seq]
}

// putEvents stores evs unchanged under their own seqs.
func (f *found) putEvents(tx *bolt.Tx, evs []Event, report *Salvage) error {
	b := bucketsOf(tx)
	for _, ev := range evs {
		v, err := encodeEvent(ev)
		if err != nil {
			return fmt.Errorf("event %d: %w", ev.Seq, err)
		}
		k := seqKey(ev.Seq)
		if err := b.events.Put(k, v); err != nil {
			return err
		}
		if err := b.ids.Put([]byte(ev.ID), k); err != nil {
			return err
		}
		if ev.Incident != "" {
			if err := b.incEvents.Put(incidentKey(ev.Incident, ev.Seq), present); err != nil {
				return err
			}
		}
		report.Events++
		if !f.requeue(ev) {
			continue
		}
		report.Requeued++
		if err := putPending(b, k, ev); err != nil {
			return err
		}
	}
	return nil
}

// putPending puts an event in the outbox and its class index.
func putPending(b buckets, k []byte, ev Event) error {
	if err := b.outbox.Put(k, present); err != nil {
		return err
	}
	if err := index(b.urgent, k, ev.Urgent); err != nil {
		return err
	}
	return index(b.telemetry, k, ev.Telemetry)
}

// finish stores the snapshots, the clips, the epoch, the seq counter,
// the clock floor and the report.
func (f *found) finish(tx *bolt.Tx, report *Salvage) error {
	snaps := slices.Collect(maps.Values(f.snaps))
	slices.SortFunc(snaps, func(a, b foundSnap) int { return cmp.Or(cmp.Compare(a.stamp, b.stamp), cmp.Compare(a.ID, b.ID)) })
	plain := make([]Snapshot, len(snaps))
	for i, s := range snaps {
		plain[i] = s.Snapshot
		if s.Open {
			report.OpenIncidents++
		}
	}
	if err := putSnapshots(tx, plain); err != nil {
		return err
	}
	clips := tx.Bucket(bucketClips)
	for _, c := range f.clips {
		if err := putClip(clips, c); err != nil {
			return err
		}
		report.Clips++
	}
	meta := tx.Bucket(bucketMeta)
	if err := meta.Put(keyEpoch, putUint(f.epoch)); err != nil {
		return err
	}
	if err := tx.Bucket(bucketEvents).SetSequence(report.SeqFrom - 1); err != nil {
		return err
	}
	if err := raiseFloor(meta, f.latest()); err != nil {
		return err
	}
	return putSalvageReport(meta, *report)
}

// latest is the latest event time found: the clock floor never goes back.
func (f *found) latest() time.Time {
	var t time.Time
	for _, ev := range f.events {
		if ev.Time.After(t) {
			t = ev.Time
		}
	}
	return t.UTC()
}
