package journal

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// benchRecord is one event with 512 bytes of data.
var benchRecord = Record{
	Type:     "incident.registered",
	Incident: "inc-1",
	Data:     json.RawMessage(`"` + strings.Repeat("x", 510) + `"`),
}

// latencies records per-operation times and reports p50 and p99.
type latencies []time.Duration

func (l *latencies) time(start time.Time) { *l = append(*l, time.Since(start)) }

func (l latencies) report(b *testing.B) {
	if len(l) == 0 {
		return
	}
	slices.Sort(l)
	b.ReportMetric(float64(l[len(l)/2].Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(l[len(l)*99/100].Nanoseconds()), "p99-ns")
}

func BenchmarkAppend(b *testing.B) {
	j := mustOpen(b, tempPath(b))
	recs := []Record{benchRecord}
	var lat latencies
	for b.Loop() {
		start := time.Now()
		if _, err := j.Append(time.Now(), true, recs, nil); err != nil {
			b.Fatal(err)
		}
		lat.time(start)
	}
	lat.report(b)
}

func BenchmarkAppendAck(b *testing.B) {
	j := mustOpen(b, tempPath(b))
	recs := []Record{benchRecord}
	var lat latencies
	for b.Loop() {
		start := time.Now()
		evs, err := j.Append(time.Now(), true, recs, nil)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := j.Ack([]string{evs[0].ID}); err != nil {
			b.Fatal(err)
		}
		lat.time(start)
	}
	lat.report(b)
}

// backlogSize is the outage backlog the drain must ship: 100,000 events.
const backlogSize = 100_000

// withBacklog returns a journal at a new path holding n pending events of
// benchRecord, and their ids in seq order.
func withBacklog(b *testing.B, n int) (*Journal, string, []string) {
	b.Helper()
	path := tempPath(b)
	j := mustOpen(b, path)
	recs := make([]Record, 1000)
	for i := range recs {
		recs[i] = benchRecord
	}
	all := make([]string, 0, n)
	for len(all) < n {
		evs, err := j.Append(time.Now(), true, recs[:min(len(recs), n-len(all))], nil)
		if err != nil {
			b.Fatal(err)
		}
		all = append(all, ids(evs)...)
	}
	return j, path, all
}

// BenchmarkAppendWithBacklog appends one critical event while 100,000
// are pending: compare with BenchmarkAppend.
func BenchmarkAppendWithBacklog(b *testing.B) {
	j, _, _ := withBacklog(b, backlogSize)
	recs := []Record{benchRecord}
	var lat latencies
	for b.Loop() {
		start := time.Now()
		if _, err := j.Append(time.Now(), true, recs, nil); err != nil {
			b.Fatal(err)
		}
		lat.time(start)
	}
	lat.report(b)
}

// BenchmarkPending reads pages of 256 through a backlog of 100,000.
func BenchmarkPending(b *testing.B) {
	j, _, _ := withBacklog(b, backlogSize)
	var after uint64
	for b.Loop() {
		page, err := j.Pending(after, 256)
		if err != nil || len(page) == 0 {
			b.Fatalf("Pending(%d, 256) = %d events, %v", after, len(page), err)
		}
		if after = page[len(page)-1].Seq; after >= backlogSize-256 {
			after = 0
		}
	}
}

// BenchmarkAckBatch acks 256 pending events at a time, in seq order, as
// the platform acks a drained page. The backlog is refilled untimed.
func BenchmarkAckBatch(b *testing.B) {
	j, _, pending := withBacklog(b, backlogSize)
	for b.Loop() {
		if len(pending) < 256 {
			b.StopTimer()
			j, _, pending = withBacklog(b, backlogSize)
			b.StartTimer()
		}
		acked, err := j.Ack(pending[:256])
		if err != nil || len(acked) != 256 {
			b.Fatalf("Ack(256) = %d, %v", len(acked), err)
		}
		pending = pending[256:]
	}
}

// BenchmarkDrain ships a backlog of 100,000 the way the cloud link does:
// a page of 256 from Pending, then the Ack of that page. It reports the
// events per second; the target is 10,000.
func BenchmarkDrain(b *testing.B) {
	j, _, _ := withBacklog(b, backlogSize)
	var after uint64
	drained := 0
	for b.Loop() {
		page, err := j.Pending(after, 256)
		if err != nil || len(page) == 0 {
			b.StopTimer()
			j, _, _ = withBacklog(b, backlogSize)
			after = 0
			b.StartTimer()
			continue
		}
		if _, err := j.Ack(ids(page)); err != nil {
			b.Fatal(err)
		}
		after, drained = page[len(page)-1].Seq, drained+len(page)
	}
	b.ReportMetric(float64(drained)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkStats measures the health check's read with 100,000 pending:
// counters kept in meta, next to counting the outbox's keys.
func BenchmarkStats(b *testing.B) {
	j, _, _ := withBacklog(b, backlogSize)
	b.Run("counters", func(b *testing.B) {
		for b.Loop() {
			if st, err := j.Stats(); err != nil || st.PendingCritical != backlogSize {
				b.Fatalf("Stats() = %+v, %v", st, err)
			}
		}
	})
	b.Run("outbox-KeyN", func(b *testing.B) {
		for b.Loop() {
			var n int
			err := j.view("count", func(tx *bolt.Tx) error {
				n = tx.Bucket(bucketOutbox).Stats().KeyN
				return nil
			})
			if err != nil || n != backlogSize {
				b.Fatalf("KeyN = %d, %v", n, err)
			}
		}
	})
}

// BenchmarkOpenWithBacklog measures Open of a file with 100,000 pending:
// the structure check, the read of every pending event and the reserve.
func BenchmarkOpenWithBacklog(b *testing.B) {
	j, path, _ := withBacklog(b, backlogSize)
	j.Close()
	for b.Loop() {
		j, err := Open(path, Options{KioskID: "kiosk-1"})
		if err != nil {
			b.Fatal(err)
		}
		j.Close()
	}
}

// BenchmarkPendingCount measures the health check's read with a backlog of
// 10,000 unacked events.
func BenchmarkPendingCount(b *testing.B) {
	j := mustOpen(b, tempPath(b))
	recs := make([]Record, 1000)
	for i := range recs {
		recs[i] = benchRecord
	}
	for range 10 {
		if _, err := j.Append(time.Now(), true, recs, nil); err != nil {
			b.Fatal(err)
		}
	}
	for b.Loop() {
		if n, _, err := j.PendingCount(); n != 10000 || err != nil {
			b.Fatalf("PendingCount() = %d, %v, want 10000", n, err)
		}
	}
}
