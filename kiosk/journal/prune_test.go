package journal

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
)

// historyRec is a critical record of incident inc with size bytes of data.
func historyRec(inc string, i, size int) Record {
	data := fmt.Sprintf(`{"n":%d,"pad":%q}`, i, strings.Repeat("h", size))
	return Record{Type: "incident.updated", Incident: inc, Data: json.RawMessage(data)}
}

// pruneMaxSize caps the prune tests' journals: the smallest cap Open takes
// with testReserve (2×Reserve + 2 MiB), so pruning starts as soon as it can
// and every record is one fdatasync less to wait for.
const pruneMaxSize = 2*testReserve + 2*allocSize

// maxSizeCheck fails t if the file at path passes limit.
func maxSizeCheck(t *testing.T, path string, limit int64) func() {
	return func() {
		t.Helper()
		if info, err := os.Stat(path); err != nil || info.Size() > limit {
			t.Fatalf("file: %v, %v, want at most %d bytes", info.Size(), err, limit)
		}
	}
}

// pruneRun is what TestPruneKeepsHistoryOffTheReserve appended.
type pruneRun struct {
	open, pending, early []string // ids: the open incident's, unacked, round 1's history
	lastSeq              uint64
}

// appendHistory appends and acks rounds of 16 records of 1.5 KiB, each
// round a new closed incident, every 4th round one event of the open
// incident "open-1", every 10th round one event left unacked, a Touch
// every 5th round as the daemon's 10 s tick. Every record is stored.
func appendHistory(t *testing.T, j *Journal, rounds int, check func()) pruneRun {
	t.Helper()
	var run pruneRun
	for r := range rounds {
		inc := fmt.Sprintf("inc-%d", r)
		recs := []Record{telemetryBatch(1)[0]}
		for i := range 15 {
			recs = append(recs, historyRec(inc, i, 1500))
		}
		if r%4 == 0 {
			recs[1].Incident = "open-1"
		}
		evs, err := j.Append(t0, true, recs, []Snapshot{{ID: inc}, {ID: "open-1", Open: true}})
		check()
		if err != nil || len(evs) != len(recs) {
			t.Fatalf("round %d: Append() = %d events, %v, want %d, nil", r, len(evs), err, len(recs))
		}
		for _, e := range evs {
			if e.Seq != run.lastSeq+1 {
				t.Fatalf("round %d: seq %d after %d, want %d", r, e.Seq, run.lastSeq, run.lastSeq+1)
			}
			run.lastSeq = e.Seq
		}
		if r%4 == 0 {
			run.open = append(run.open, evs[1].ID)
		}
		if r == 1 { // round 0 left one unacked
			run.early = ids(evs[2:])
		}
		toAck := ids(evs)
		if r%10 == 0 {
			run.pending = append(run.pending, toAck[len(toAck)-1])
			toAck = toAck[:len(toAck)-1]
		}
		if _, err := j.Ack(toAck); err != nil {
			t.Fatalf("round %d: Ack() = %v", r, err)
		}
		if r%5 == 0 {
			if err := j.Touch(t0); err != nil {
				t.Fatalf("round %d: Touch() = %v", r, err)
			}
		}
	}
	return run
}

func TestPruneKeepsHistoryOffTheReserve(t *testing.T) {
	t.Parallel()
	const maxSize = pruneMaxSize
	path := tempPath(t)
	opts := Options{MaxSize: maxSize, Reserve: testReserve}
	j := openWith(t, path, opts)
	check := maxSizeCheck(t, path, maxSize)
	rounds := 3 * maxSize / (15 * 1500) // three caps' worth of history
	run := appendHistory(t, j, rounds, check)
	if err := j.Touch(t0); err != nil {
		t.Fatalf("Touch() = %v", err)
	}
	st := mustStats(t, j)
	if st.OnReserve || st.HistoryPruned == 0 || st.TelemetryDropped != 0 || st.PendingCritical != len(run.pending) {
		t.Errorf("Stats() = %+v, want off reserve, history pruned, no telemetry dropped, %d pending",
			st, len(run.pending))
	}
	checkPruned(t, j, run)
	j.Close()

	j = checkAlarms(t, path, opts, run.pending)
	if got := mustStats(t, j).HistoryPruned; got != st.HistoryPruned {
		t.Errorf("HistoryPruned after reopen = %d, want %d", got, st.HistoryPruned)
	}
	checkPruned(t, j, run)
	evs := mustAppend(t, j, t0, []Record{alarm(0)}, nil)
	if evs[0].Seq != run.lastSeq+1 {
		t.Errorf("seq after reopen = %d, want %d: a pruned seq is never reused", evs[0].Seq, run.lastSeq+1)
	}
	j.Close()
	checkBolt(t, path)
}

// checkPruned finds the open incident's events and the pending ones, and
// not round 1's history.
func checkPruned(t *testing.T, j *Journal, run pruneRun) {
	t.Helper()
	evs, err := j.IncidentEvents("open-1")
	if got := ids(evs); err != nil || !slices.Equal(got, run.open) {
		t.Errorf("IncidentEvents(open-1) = %d events, %v, want all %d", len(got), err, len(run.open))
	}
	pending, err := j.Pending(0, 1_000_000)
	if got := ids(pending); err != nil || !slices.Equal(got, run.pending) {
		t.Errorf("Pending() = %d events, %v, want all %d unacked", len(got), err, len(run.pending))
	}
	if evs, err := j.IncidentEvents("inc-1"); err != nil || len(evs) != 0 {
		t.Errorf("IncidentEvents(inc-1) = %d events, %v, want none: pruned", len(evs), err)
	}
	if acked, err := j.Acked(run.early[0]); err != nil || acked {
		t.Errorf("Acked(pruned) = %v, %v, want false, nil", acked, err)
	}
	all, err := j.Events(0, 1_000_000)
	if err != nil || len(all) == 0 || slices.Contains(ids(all), run.early[0]) {
		t.Errorf("Events() = %d events, %v, want some, without the pruned", len(all), err)
	}
	if !slices.IsSortedFunc(all, func(a, b Event) int { return cmp.Compare(a.Seq, b.Seq) }) {
		t.Errorf("Events() not in seq order")
	}
}

// Pruning never deletes an unacked event nor an open incident's: with
// nothing else left, the journal fills and says ErrFull.
func TestPruneNeverDropsUnacked(t *testing.T) {
	t.Parallel()
	const maxSize = pruneMaxSize
	path := tempPath(t)
	opts := Options{MaxSize: maxSize, Reserve: testReserve}
	j := openWith(t, path, opts)
	var open []string
	for i := range 20 {
		evs := mustAppend(t, j, t0, []Record{historyRec("open-1", i, 500), historyRec("closed-1", i, 500)},
			[]Snapshot{{ID: "open-1", Open: true}, {ID: "closed-1"}})
		if _, err := j.Ack(ids(evs)); err != nil {
			t.Fatal(err)
		}
		open = append(open, evs[0].ID)
	}
	sizeOK := maxSizeCheck(t, path, maxSize)
	n := 0
	stored := alarmsUntilFull(t, j, func() {
		t.Helper()
		sizeOK()
		if n++; n%50 == 0 {
			if err := j.Touch(t0); err != nil && !errors.Is(err, ErrFull) {
				t.Fatalf("Touch() = %v, want nil or ErrFull", err)
			}
		}
	})
	if got := mustStats(t, j).HistoryPruned; got != 20 {
		t.Errorf("HistoryPruned = %d, want 20: the closed incident's history alone", got)
	}
	j.Close()
	j = checkAlarms(t, path, opts, stored)
	if st := mustStats(t, j); st.PendingCritical != len(stored) {
		t.Errorf("PendingCritical = %d, want %d", st.PendingCritical, len(stored))
	}
	evs, err := j.IncidentEvents("open-1")
	if got := ids(evs); err != nil || !slices.Equal(got, open) {
		t.Errorf("IncidentEvents(open-1) = %d events, %v, want all %d", len(got), err, len(open))
	}
	j.Close()
	checkBolt(t, path)
}
