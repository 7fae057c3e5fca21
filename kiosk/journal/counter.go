package journal

import (
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// ErrStaleCounter is returned, wrapped, by AdvanceCommandCounter for a
// counter not above the last one accepted: the command is a replay.
var ErrStaleCounter = errors.New("journal: command counter not above the last accepted")

// keyCommandCounter holds the counter of the last platform command accepted
// (uint64). Added within schema version 1: older programs ignore it.
var keyCommandCounter = []byte("command_counter")

// CommandCounter returns the counter of the last platform command accepted,
// 0 if none ever was.
func (j *Journal) CommandCounter() (uint64, error) {
	var n uint64
	err := j.run("read command counter", false, func(tx *bolt.Tx) error {
		n = getUint(tx.Bucket(bucketMeta).Get(keyCommandCounter))
		return nil
	})
	return n, err
}

// AdvanceCommandCounter records n as the last accepted command counter, in
// one fsynced transaction, if n is above the one stored; otherwise it
// returns ErrStaleCounter and stores nothing. Check and write are one
// transaction, so two callers can never both accept the same counter.
func (j *Journal) AdvanceCommandCounter(n uint64) error {
	return j.update("advance command counter", func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if last := getUint(meta.Get(keyCommandCounter)); n <= last {
			return fmt.Errorf("%w: %d, last accepted %d", ErrStaleCounter, n, last)
		}
		return meta.Put(keyCommandCounter, putUint(n))
	})
}
