package journal

import (
	"cmp"
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
// acked or not. limit must be positive.
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

// PendingCount returns how many events are unacked and the Time of the
// first of them in seq order (zero if none). Seq order, not the wall
// clock, decides which is oldest.
func (j *Journal) PendingCount() (n int, oldest time.Time, err error) {
	err = j.view("pending count", func(tx *bolt.Tx) error {
		outbox := tx.Bucket(bucketOutbox)
		k, _ := outbox.Cursor().First()
		if k == nil {
			return nil
		}
		ev, err := decodeEvent(tx.Bucket(bucketEvents), k)
		if err != nil {
			return err
		}
		n, oldest = outbox.Stats().KeyN, ev.Time
		return nil
	})
	if err != nil {
		return 0, time.Time{}, err
	}
	return n, oldest, nil
}

// Ack removes the named events from the outbox in one fsynced transaction
// and returns, in seq order, those that were pending until now. Unknown and
// already acked ids are ignored: acks may arrive twice.
func (j *Journal) Ack(ids []string) ([]Event, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	var acked []Event
	err := j.update("ack", func(tx *bolt.Tx) error {
		events, outbox, byID := tx.Bucket(bucketEvents), tx.Bucket(bucketOutbox), tx.Bucket(bucketIDs)
		for _, id := range ids {
			k := byID.Get([]byte(id))
			if k == nil || outbox.Get(k) == nil {
				continue
			}
			ev, err := decodeEvent(events, k)
			if err != nil {
				return err
			}
			if err := outbox.Delete(k); err != nil {
				return err
			}
			acked = append(acked, ev)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(acked, func(a, b Event) int { return cmp.Compare(a.Seq, b.Seq) })
	return acked, nil
}

// Acked reports whether the event with this id has been acked (false, nil
// for an unknown id).
func (j *Journal) Acked(id string) (bool, error) {
	var acked bool
	err := j.view("acked", func(tx *bolt.Tx) error {
		k := tx.Bucket(bucketIDs).Get([]byte(id))
		acked = k != nil && tx.Bucket(bucketOutbox).Get(k) == nil
		return nil
	})
	return acked, err
}
