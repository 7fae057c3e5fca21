package journal

import (
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Stats describe the outbox and the space left, for the health check and
// the heartbeat.
type Stats struct {
	PendingCritical  int       // unacked critical events
	PendingTelemetry int       // unacked telemetry events
	OldestPending    time.Time // Time of the first unacked event in seq order; zero if none
	TelemetryDropped uint64    // telemetry dropped or refused, ever
	HistoryPruned    uint64    // acked critical events deleted to make room, ever; see prune.go
	FileBytes        int64     // the file's size
	MaxBytes         int64     // Options.MaxSize; zero if no cap
	DiskFreeBytes    int64     // free to this process on the file's filesystem; -1 if unknown
	// OnReserve is true while telemetry is refused for want of space:
	// alarms are stored from the reserve, and the caller should raise a
	// visible fault.
	OnReserve bool
}

// Stats returns the journal's figures. It reads counters, not buckets: its
// cost does not grow with the backlog.
func (j *Journal) Stats() (Stats, error) {
	var st Stats
	var hwm int64
	err := j.view("stats", func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		c := readCounters(meta)
		st.HistoryPruned = getUint(meta.Get(keyPruned))
		st.PendingCritical, st.PendingTelemetry = int(c.critical), int(c.telemetry)
		st.TelemetryDropped = c.dropped + j.unsaved.Load()
		hwm = tx.Size()
		var err error
		st.OldestPending, err = oldestPending(tx)
		return err
	})
	if err != nil {
		return Stats{}, err
	}
	info, err := j.file.Stat()
	if err != nil {
		return Stats{}, fmt.Errorf("journal: stats: %w", err)
	}
	s := j.spaceAt(hwm)
	st.FileBytes, st.MaxBytes, st.DiskFreeBytes = info.Size(), j.opts.MaxSize, s.disk
	st.OnReserve = s.onReserve(j.opts.Reserve, j.pageSize())
	return st, nil
}
