package journal

import (
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func telemetry(typ string) Record {
	return Record{Type: typ, Telemetry: true, Data: json.RawMessage(`{"camera":"ok"}`)}
}

func openWith(t testing.TB, path string, opts Options) *Journal {
	t.Helper()
	opts.KioskID = "kiosk-1"
	j, err := Open(path, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = j.Close() })
	return j
}

func mustStats(t testing.TB, j *Journal) Stats {
	t.Helper()
	st, err := j.Stats()
	if err != nil {
		t.Fatalf("Stats: %v", err)
	}
	return st
}

func types(evs []Event) []string {
	var out []string
	for _, e := range evs {
		out = append(out, e.Type)
	}
	return out
}

// The budget drops the oldest pending telemetry, never a critical event,
// and the counter survives a reopen.
func TestTelemetryBudget(t *testing.T) {
	path := tempPath(t)
	j := openWith(t, path, Options{TelemetryBudget: 3})
	for i := range 6 {
		mustAppend(t, j, t0, []Record{rec(fmt.Sprintf("alarm%d", i), "inc")}, nil)
		mustAppend(t, j, t0, []Record{telemetry(fmt.Sprintf("tel%d", i))}, nil)
	}
	want := []string{"alarm0", "alarm1", "alarm2", "alarm3", "tel3", "alarm4", "tel4", "alarm5", "tel5"}
	pending, err := j.Pending(0, 100)
	if got := types(pending); err != nil || !slices.Equal(got, want) {
		t.Errorf("Pending() = %v, %v, want %v", got, err, want)
	}
	all, err := j.Events(0, 100)
	if got := types(all); err != nil || !slices.Equal(got, want) {
		t.Errorf("Events() = %v, %v, want %v: dropped telemetry is deleted", got, err, want)
	}
	// Five in one call: the two earliest are refused before they get a seq.
	evs, err := j.Append(t0, true, []Record{telemetry("a"), telemetry("b"), rec("alarm6", ""),
		telemetry("c"), telemetry("d"), telemetry("e")}, nil)
	if got, want := types(evs), []string{"alarm6", "c", "d", "e"}; err != nil || !slices.Equal(got, want) {
		t.Errorf("Append(5 telemetry, budget 3) = %v, %v, want %v", got, err, want)
	}
	if got, want := seqs(evs), []uint64{13, 14, 15, 16}; !slices.Equal(got, want) {
		t.Errorf("seqs %v, want %v: refused records take no seq", got, want)
	}
	j.Close()
	j = openWith(t, path, Options{TelemetryBudget: 3})
	st := mustStats(t, j)
	if st.PendingCritical != 7 || st.PendingTelemetry != 3 || st.TelemetryDropped != 3+2+3 {
		t.Errorf("Stats() = %+v, want 7 critical, 3 telemetry, 8 dropped", st)
	}
}

func TestUrgentJumpsTheQueue(t *testing.T) {
	j := mustOpen(t, tempPath(t))
	for i := range 5 {
		r := rec(fmt.Sprintf("e%d", i), "")
		r.Urgent = i%2 == 1
		mustAppend(t, j, t0, []Record{r, telemetry("t")}, nil)
	}
	urgent, err := j.Urgent(10)
	if got, want := types(urgent), []string{"e1", "e3"}; err != nil || !slices.Equal(got, want) {
		t.Fatalf("Urgent() = %v, %v, want %v", got, err, want)
	}
	if !urgent[0].Urgent || urgent[0].Telemetry {
		t.Errorf("Urgent()[0] = %+v, want Urgent set, Telemetry not", urgent[0])
	}
	if _, err := j.Ack([]string{urgent[0].ID}); err != nil {
		t.Fatal(err)
	}
	if got, err := j.Urgent(1); err != nil || len(got) != 1 || got[0].Type != "e3" {
		t.Errorf("Urgent(1) after ack = %v, %v, want [e3]", types(got), err)
	}
}

// Acked telemetry leaves the file; acked critical events stay as history.
func TestAckForgetsTelemetry(t *testing.T) {
	path := tempPath(t)
	j := mustOpen(t, path)
	evs := mustAppend(t, j, t0, []Record{telemetry("t"), rec("alarm", "inc"), {Type: "t2", Incident: "inc", Telemetry: true}}, nil)
	acked, err := j.Ack(ids(evs))
	if got := seqs(acked); err != nil || !slices.Equal(got, []uint64{1, 2, 3}) {
		t.Fatalf("Ack() = %v, %v, want 1 2 3", got, err)
	}
	all, err := j.Events(0, 10)
	if got := types(all); err != nil || !slices.Equal(got, []string{"alarm"}) {
		t.Errorf("Events() = %v, %v, want only the alarm", got, err)
	}
	if inc, err := j.IncidentEvents("inc"); err != nil || len(inc) != 1 {
		t.Errorf("IncidentEvents() = %v, %v, want only the alarm", types(inc), err)
	}
	if ok, err := j.Acked(evs[1].ID); !ok || err != nil {
		t.Errorf("Acked(alarm) = %v, %v, want true", ok, err)
	}
	// Telemetry sent and acked for ever must not grow the file.
	var sizes []int64
	for range 3 {
		for range 200 {
			evs, err := j.Append(t0, true, []Record{telemetry("t"), telemetry("t")}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := j.Ack(ids(evs)); err != nil {
				t.Fatal(err)
			}
		}
		sizes = append(sizes, mustStats(t, j).FileBytes)
	}
	if sizes[2] > sizes[0] {
		t.Errorf("file sizes after rounds of acked telemetry: %v, want no growth", sizes)
	}
}

func TestStatsFollowTheOutbox(t *testing.T) {
	j := openWith(t, tempPath(t), Options{TelemetryBudget: 2})
	t1 := t0.Add(time.Minute)
	var a, b []Event
	steps := []struct {
		name                string
		do                  func()
		critical, telemetry int
		dropped             uint64
		oldest              time.Time
	}{
		{"empty", func() {}, 0, 0, 0, time.Time{}},
		{"alarm", func() { a = mustAppend(t, j, t0, []Record{rec("a", "")}, nil) }, 1, 0, 0, t0},
		{"telemetry", func() {
			b = mustAppend(t, j, t1, []Record{telemetry("t"), telemetry("t"), telemetry("t")}, nil)
		}, 1, 2, 1, t0},
		{"ack alarm", func() { j.Ack(ids(a)) }, 0, 2, 1, t1},
		{"ack twice", func() { j.Ack(ids(a)) }, 0, 2, 1, t1},
		{"ack telemetry", func() { j.Ack(ids(b)) }, 0, 0, 1, time.Time{}},
	}
	for _, s := range steps {
		s.do()
		st := mustStats(t, j)
		if st.PendingCritical != s.critical || st.PendingTelemetry != s.telemetry ||
			st.TelemetryDropped != s.dropped || !st.OldestPending.Equal(s.oldest) {
			t.Errorf("%s: Stats() = %+v, want %d critical, %d telemetry, %d dropped, oldest %v",
				s.name, st, s.critical, s.telemetry, s.dropped, s.oldest)
		}
		if st.FileBytes <= 0 || st.DiskFreeBytes <= 0 || st.MaxBytes != 0 || st.OnReserve {
			t.Errorf("%s: Stats() = %+v, want file and disk sizes, no cap, not on reserve", s.name, st)
		}
	}
}

// A file written by the first release, or touched since by it, lacks the
// class buckets or has stale counters; Open rebuilds them from the outbox.
func TestOpenRebuildsClasses(t *testing.T) {
	path := tempPath(t)
	j := mustOpen(t, path)
	mustAppend(t, j, t0, []Record{rec("a", ""), telemetry("t"), {Type: "u", Urgent: true}}, nil)
	done := mustAppend(t, j, t0, []Record{{Type: "v", Urgent: true}, telemetry("t2")}, nil)
	j.Close()
	withBolt(t, path, func(tx *bolt.Tx) error {
		// As an older program would leave it: acked by outbox only, no
		// class buckets, no counters.
		for _, e := range done {
			if err := tx.Bucket(bucketOutbox).Delete(seqKey(e.Seq)); err != nil {
				return err
			}
		}
		for _, name := range addedBuckets {
			if err := tx.DeleteBucket(name); err != nil {
				return err
			}
		}
		return tx.Bucket(bucketMeta).Delete(keyPendingCritical)
	})
	j = mustOpen(t, path)
	st := mustStats(t, j)
	if st.PendingCritical != 2 || st.PendingTelemetry != 1 {
		t.Errorf("Stats() = %+v, want 2 critical, 1 telemetry", st)
	}
	if u, err := j.Urgent(10); err != nil || !slices.Equal(types(u), []string{"u"}) {
		t.Errorf("Urgent() = %v, %v, want [u]", types(u), err)
	}
	if j.Recovered() != "" {
		t.Errorf("Recovered() = %q, want the file kept", j.Recovered())
	}
}

// Writers of both classes, acks and readers at once: the counters stay
// true to the outbox (Open recounts them; they must not change).
func TestConcurrentClasses(t *testing.T) {
	path := tempPath(t)
	j := openWith(t, path, Options{TelemetryBudget: 10})
	const writers, each = 4, 30
	var wg sync.WaitGroup
	var mu sync.Mutex
	acked := map[bool]int{} // by Telemetry
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				evs, err := j.Append(t0, true, []Record{rec("alarm", ""), telemetry("t")}, nil)
				if err != nil {
					t.Errorf("Append: %v", err)
					return
				}
				if (w+i)%3 != 0 {
					continue
				}
				done, err := j.Ack(ids(evs))
				if err != nil {
					t.Errorf("Ack: %v", err)
				}
				mu.Lock()
				for _, e := range done {
					acked[e.Telemetry]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Go(func() {
		for range 20 {
			if _, err := j.Stats(); err != nil {
				t.Errorf("Stats: %v", err)
			}
			if err := j.Touch(t0); err != nil {
				t.Errorf("Touch: %v", err)
			}
		}
	})
	wg.Wait()
	before := mustStats(t, j)
	tel := before.PendingTelemetry + int(before.TelemetryDropped) + acked[true]
	if crit := before.PendingCritical + acked[false]; crit != writers*each || tel != writers*each ||
		before.PendingTelemetry > 10 {
		t.Errorf("Stats() = %+v, acked %v: want %d of each class accounted for, at most 10 telemetry pending",
			before, acked, writers*each)
	}
	j.Close()
	after := mustStats(t, openWith(t, path, Options{TelemetryBudget: 10}))
	if after.PendingCritical != before.PendingCritical || after.PendingTelemetry != before.PendingTelemetry ||
		after.TelemetryDropped != before.TelemetryDropped {
		t.Errorf("Stats() after reopen = %+v, before %+v: counters drifted", after, before)
	}
}
