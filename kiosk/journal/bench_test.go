package journal

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"
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
