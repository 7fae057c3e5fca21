package journal

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Pending returns up to limit unacked events with Seq > afterSeq, in seq
// order. limit must be positive.
func (j *Journal) Pending(afterSeq uint64, limit int) ([]Event, error) {
	return j.scan("pending", bucketOutbox, afterSeq, limit)
}

// Events returns up to limit events with Seq > afterSeq in seq order,
// acked or not, except telemetry that was acked or dropped: that is
// deleted, and acked history pruned to make room (see prune.go): seqs
// may then have gaps. limit must be positive.
func (j *Journal) Events(afterSeq uint64, limit int) ([]Event, error) {
	return j.scan("events", bucketEvents, afterSeq, limit)
}

// scan reads events whose seq keys in bucket name follow afterSeq.
func (j *Journal) scan(op string, name []byte, afterSeq uint64, limit int) ([]Event, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("journal: %s: %w: limit %d", op, ErrInvalid, limit)
	}
	if afterSeq == math.MaxUint64 {
		return nil, nil
	}
	var out []Event
	err := j.view(op, func(tx *bolt.Tx) error {
		events := tx.Bucket(bucketEvents)
		c := tx.Bucket(name).Cursor()
		for k, _ := c.Seek(seqKey(afterSeq + 1)); k != nil && len(out) < limit; k, _ = c.Next() {
			ev, err := decodeEvent(events, k)
			if err != nil {
				return err
			}
			out = append(out, ev)
		}
		return nil
	})
	return out, err
}

// Urgent returns up to limit unacked urgent events in seq order, so that
// a new alarm can be sent ahead of a backlog. limit must be positive.
func (j *Journal) Urgent(limit int) ([]Event, error) {
	return j.scan("urgent", bucketUrgent, 0, limit)
}

// PendingCount returns how many events are unacked and the Time of the
// first of them in seq order (zero if none). Seq order, not the wall
// clock, decides which is oldest.
func (j *Journal) PendingCount() (n int, oldest time.Time, err error) {
	err = j.view("pending count", func(tx *bolt.Tx) error {
		c := readCounters(tx.Bucket(bucketMeta))
		n = int(c.critical + c.telemetry)
		oldest, err = oldestPending(tx)
		return err
	})
	if err != nil {
		return 0, time.Time{}, err
	}
	return n, oldest, nil
}

// oldestPending returns the Time of the first unacked event in seq order.
func oldestPending(tx *bolt.Tx) (time.Time, error) {
	k, _ := tx.Bucket(bucketOutbox).Cursor().First()
	if k == nil {
		return time.Time{}, nil
	}
	ev, err := decodeEvent(tx.Bucket(bucketEvents), k)
	return ev.Time, err
}

// Ack removes the named events from the outbox in one fsynced transaction
// and returns, in seq order, those that were pending until now. Unknown and
// already acked ids are ignored: acks may arrive twice. Acked telemetry is
// deleted from the file: Events and Acked no longer know it.
//
// On a full journal (ErrFull) Ack splits ids into smaller transactions,
// which need fewer free pages; each frees space for the next. If one of
// them fails, those before it stay acked.
func (j *Journal) Ack(ids []string) ([]Event, error) {
	acked, err := j.ackBatch(ids)
	if !errors.Is(err, ErrFull) || len(ids) < 2 {
		return acked, err
	}
	first, err := j.Ack(ids[:len(ids)/2])
	if err != nil {
		return nil, err
	}
	second, err := j.Ack(ids[len(ids)/2:])
	if err != nil {
		return nil, err
	}
	acked = append(first, second...)
	slices.SortFunc(acked, func(a, b Event) int { return cmp.Compare(a.Seq, b.Seq) })
	return acked, nil
}

// ackBatch acks ids in one transaction.
func (j *Journal) ackBatch(ids []string) ([]Event, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	var acked []Event
	err := j.update("ack", func(tx *bolt.Tx) error {
		acked = acked[:0]
		b := bucketsOf(tx)
		c := readCounters(b.meta)
		for _, id := range ids {
			ev, ok, err := ackOne(b, id)
			if err != nil {
				return err
			}
			if !ok {
				continue
			}
			if ev.Telemetry {
				c.telemetry = sub(c.telemetry, 1)
			} else {
				c.critical = sub(c.critical, 1)
			}
			acked = append(acked, ev)
		}
		return c.put(b.meta)
	})
	if err != nil {
		return nil, err
	}
	j.history.Add(1)
	slices.SortFunc(acked, func(a, b Event) int { return cmp.Compare(a.Seq, b.Seq) })
	return acked, nil
}

// ackOne takes one event out of the outbox; ok is false if it was not
// pending.
func ackOne(b buckets, id string) (ev Event, ok bool, err error) {
	k := b.ids.Get([]byte(id))
	if k == nil || b.outbox.Get(k) == nil {
		return Event{}, false, nil
	}
	k = bytes.Clone(k)
	if ev, err = decodeEvent(b.events, k); err != nil {
		return Event{}, false, err
	}
	if ev.ID != id {
		// A damaged id entry must not ack another event.
		return Event{}, false, fmt.Errorf("%w: id %s points at event %d, which is %s", ErrCorrupt, id, ev.Seq, ev.ID)
	}
	if ev.Telemetry {
		return ev, true, forget(b, k, ev)
	}
	if err := b.outbox.Delete(k); err != nil {
		return Event{}, false, err
	}
	return ev, true, b.urgent.Delete(k)
}

// Acked reports whether the event with this id has been acked (false, nil
// for an unknown id, which includes acked telemetry and pruned history).
func (j *Journal) Acked(id string) (bool, error) {
	var acked bool
	err := j.view("acked", func(tx *bolt.Tx) error {
		k := tx.Bucket(bucketIDs).Get([]byte(id))
		acked = k != nil && tx.Bucket(bucketOutbox).Get(k) == nil
		return nil
	})
	return acked, err
}
