package journal

import (
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// Pruning delivered history.
//
// An acked critical event is history: the platform has it, and the
// journal keeps it only so that Events, IncidentEvents and Acked can
// still answer. Left alone, history would fill the size cap or the disk
// and push alarms onto the reserve. So when space gets short the journal
// deletes the oldest history, in seq order: the event, its id and its
// incident entry, in one transaction per batch.
//
// Space is short when the kept and growable space falls under 2×Reserve
// plus one write's overhead: one Reserve above the line at which
// telemetry is refused (space.onReserve). Pruning frees about one more
// Reserve than that shortfall, so that it runs once per Reserve's worth
// of new events rather than at every write. It runs from Touch, and from
// Append before telemetry is refused or a critical write fails with
// ErrFull.
//
// Never pruned: unacked events (the outbox), and any event of an open
// incident (the open bucket). Snapshots stay, closed or not: they are
// small. The seq counter (the events bucket's sequence) is untouched, so
// no seq is ever reused; Events shows gaps where history was pruned, and
// Acked reports false for a pruned id, as for an unknown one.
//
// Pruning frees pages inside the file; it gives no block back to the
// disk, so it cannot end Stats.OnReserve while the filesystem itself has
// less than Reserve free.

// pruneBatch bounds the events one prune transaction deletes, and
// pruneScan those it reads, so that a prune holds the writer lock, which
// an alarm waits behind, only briefly.
const (
	pruneBatch = 4096
	pruneScan  = 4 * pruneBatch
)

// errNothingToPrune rolls back a prune transaction that found nothing.
var errNothingToPrune = errors.New("nothing to prune")

// deficit is how far the kept and growable space is under 2×Reserve plus
// one write's overhead; space is short, and history is pruned, while it
// is positive.
func (s space) deficit(reserve, page int64) int64 {
	return 2*reserve + (txOverhead+1)*page - (s.kept() + s.growable())
}

// pruneHistory prunes the oldest history while space is short, and
// returns how many events it pruned.
func (j *Journal) pruneHistory() (int, error) {
	gen := j.history.Load() + 1
	if j.spent.Load() == gen {
		return 0, nil // nothing was left, and nothing changed since
	}
	total, from, limit := 0, uint64(1), pruneBatch
	for {
		s, err := j.measure()
		if err != nil {
			return total, err
		}
		short := s.deficit(j.opts.Reserve, j.pageSize())
		if short <= 0 {
			return total, nil
		}
		n, next, err := j.pruneOnce(from, limit, short+j.opts.Reserve)
		switch {
		case errors.Is(err, ErrFull) && limit > 1:
			limit /= 2 // a smaller transaction copies fewer pages
			continue
		case err != nil:
			return total, err
		}
		total += n
		if next == 0 {
			j.spent.Store(gen)
			return total, nil
		}
		from = next
	}
}

// pruned prunes history if space is short, for a write about to be
// refused, and reports whether it freed anything. An error is left for
// Touch to report: the write is refused either way.
func (j *Journal) pruned() bool {
	n, _ := j.pruneHistory()
	return n > 0
}

// pruneOnce deletes, in one transaction, up to limit events of history
// with seq from from on, stopping once their values reach want bytes. It
// returns how many it deleted and the seq to go on from, 0 at the end.
func (j *Journal) pruneOnce(from uint64, limit int, want int64) (n int, next uint64, err error) {
	err = j.update("prune history", func(tx *bolt.Tx) error {
		b := bucketsOf(tx)
		var evs []Event
		evs, next, err = pickHistory(tx, b, from, limit, want)
		if err != nil {
			return err
		}
		if len(evs) == 0 {
			return errNothingToPrune
		}
		for _, ev := range evs {
			if err := deleteHistory(b, seqKey(ev.Seq), ev); err != nil {
				return err
			}
		}
		n = len(evs)
		return b.meta.Put(keyPruned, putUint(getUint(b.meta.Get(keyPruned))+uint64(n)))
	})
	if errors.Is(err, errNothingToPrune) {
		return 0, next, nil
	}
	if err != nil {
		return 0, 0, err
	}
	return n, next, nil
}

// pickHistory returns the events pruneOnce may delete, reading at most
// pruneScan events, and the seq to go on from (0 at the end).
func pickHistory(tx *bolt.Tx, b buckets, from uint64, limit int, want int64) ([]Event, uint64, error) {
	open := tx.Bucket(bucketOpen)
	var evs []Event
	var size int64
	c := b.events.Cursor()
	k, v := c.Seek(seqKey(from))
	for read := 0; k != nil && read < pruneScan && len(evs) < limit && size < want; k, v = c.Next() {
		read++
		if b.outbox.Get(k) != nil {
			continue // unacked
		}
		ev, err := decodeEventValue(v)
		if err != nil {
			return nil, 0, fmt.Errorf("event %d: %w", getUint(k), err)
		}
		if ev.Seq != getUint(k) {
			return nil, 0, fmt.Errorf("event %d: %w: holds seq %d", getUint(k), ErrCorrupt, ev.Seq)
		}
		if ev.Incident != "" && open.Get([]byte(ev.Incident)) != nil {
			continue // the incident is open
		}
		evs = append(evs, ev)
		size += int64(len(v))
	}
	if k == nil {
		return evs, 0, nil
	}
	return evs, getUint(k), nil
}

// deleteHistory deletes the event stored at key k and its entries. An
// acked event is never in the outbox, so never in the urgent or telemetry
// index either.
func deleteHistory(b buckets, k []byte, ev Event) error {
	if err := b.events.Delete(k); err != nil {
		return err
	}
	if err := b.ids.Delete([]byte(ev.ID)); err != nil {
		return err
	}
	if ev.Incident == "" {
		return nil
	}
	return b.incEvents.Delete(incidentKey(ev.Incident, ev.Seq))
}
