package journal

import (
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"
)

var t0 = time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)

func mustOpen(t testing.TB, path string) *Journal {
	t.Helper()
	j, err := Open(path, Options{KioskID: "kiosk-1"})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = j.Close() })
	return j
}

func tempPath(t testing.TB) string {
	return filepath.Join(t.TempDir(), "journal.db")
}

func mustAppend(t testing.TB, j *Journal, wall time.Time, recs []Record, snaps []Snapshot) []Event {
	t.Helper()
	evs, err := j.Append(wall, true, recs, snaps)
	if err != nil {
		t.Fatalf("Append: %v", err)
	}
	return evs
}

func rec(typ, incident string) Record {
	return Record{Type: typ, Incident: incident, Data: json.RawMessage(`{"n": 1}`)}
}

func seqs(evs []Event) []uint64 {
	var out []uint64
	for _, e := range evs {
		out = append(out, e.Seq)
	}
	return out
}

func ids(evs []Event) []string {
	var out []string
	for _, e := range evs {
		out = append(out, e.ID)
	}
	return out
}

func TestSeqAndEpochAcrossReopen(t *testing.T) {
	path := tempPath(t)
	for boot := uint64(1); boot <= 3; boot++ {
		j := mustOpen(t, path)
		if got := j.BootEpoch(); got != boot {
			t.Fatalf("BootEpoch() = %d, want %d", got, boot)
		}
		mustAppend(t, j, t0, []Record{rec("a", ""), rec("b", "")}, nil)
		mustAppend(t, j, t0, []Record{rec("c", "")}, nil)
		if err := j.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
	}
	j := mustOpen(t, path)
	evs, err := j.Events(0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := seqs(evs), []uint64{1, 2, 3, 4, 5, 6, 7, 8, 9}; !slices.Equal(got, want) {
		t.Errorf("seqs = %v, want %v", got, want)
	}
	for _, e := range evs {
		if want := (e.Seq-1)/3 + 1; e.BootEpoch != want || e.Kiosk != "kiosk-1" {
			t.Errorf("event %d: epoch %d kiosk %q, want %d %q", e.Seq, e.BootEpoch, e.Kiosk, want, "kiosk-1")
		}
	}
	if got, err := j.LastSeq(); got != 9 || err != nil {
		t.Errorf("LastSeq() = %d, %v, want 9, nil", got, err)
	}
}

func TestAppendReturnsWhatIsStored(t *testing.T) {
	j := mustOpen(t, tempPath(t))
	local := time.Date(2025, 3, 1, 16, 0, 0, 0, time.FixedZone("CST", 8*3600))
	r := Record{Type: "incident.registered", Incident: "inc-1", Data: json.RawMessage("{ \"kind\" : \"police\" }")}
	got := mustAppend(t, j, local, []Record{r, {Type: "fault"}}, nil)
	stored, err := j.Events(0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, stored) {
		t.Errorf("Append returned %+v, stored %+v", got, stored)
	}
	if want := `{"kind":"police"}`; string(got[0].Data) != want {
		t.Errorf("Data = %s, want %s", got[0].Data, want)
	}
	if !got[0].Time.Equal(local) || got[0].Time.Location() != time.UTC {
		t.Errorf("Time = %v, want %v in UTC", got[0].Time, local)
	}
	if len(got[0].ID) != 32 || got[0].ID == got[1].ID {
		t.Errorf("ids %q, %q: want two different 32-digit hex ids", got[0].ID, got[1].ID)
	}
}

func TestAppendAtomic(t *testing.T) {
	j := mustOpen(t, tempPath(t))
	snap := Snapshot{ID: "inc-1", Open: true, Data: json.RawMessage(`{"state":"registered"}`)}
	// Year 10000 cannot be encoded: the failure comes inside the
	// transaction, after a seq was taken.
	bad := time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
	if _, err := j.Append(bad, false, []Record{rec("a", "inc-1")}, []Snapshot{snap}); err == nil {
		t.Fatal("Append(year 10000) succeeded, want error")
	}
	if _, ok, _ := j.Incident("inc-1"); ok {
		t.Error("snapshot stored by a failed Append")
	}
	if n, _, _ := j.PendingCount(); n != 0 {
		t.Errorf("PendingCount() = %d after failed Append, want 0", n)
	}
	evs := mustAppend(t, j, t0, []Record{rec("a", "inc-1"), rec("b", "inc-1")}, []Snapshot{snap})
	if got, want := seqs(evs), []uint64{1, 2}; !slices.Equal(got, want) {
		t.Errorf("seqs after failed Append = %v, want %v (gap-free)", got, want)
	}
	s, ok, err := j.Incident("inc-1")
	if err != nil || !ok || !reflect.DeepEqual(s, snap) {
		t.Errorf("Incident() = %+v, %v, %v, want %+v, true, nil", s, ok, err, snap)
	}
}

func TestOutbox(t *testing.T) {
	path := tempPath(t)
	j := mustOpen(t, path)
	var all []Event
	for i := range 5 {
		all = append(all, mustAppend(t, j, t0.Add(time.Duration(i)*time.Minute), []Record{rec("e", "")}, nil)...)
	}
	page, err := j.Pending(2, 2)
	if got, want := seqs(page), []uint64{3, 4}; err != nil || !slices.Equal(got, want) {
		t.Errorf("Pending(2, 2) = %v, %v, want %v", got, err, want)
	}
	acked, err := j.Ack([]string{all[3].ID, all[1].ID, "unknown", all[1].ID, ""})
	if got, want := seqs(acked), []uint64{2, 4}; err != nil || !slices.Equal(got, want) {
		t.Errorf("Ack() = %v, %v, want %v", got, err, want)
	}
	if again, err := j.Ack([]string{all[1].ID}); err != nil || len(again) != 0 {
		t.Errorf("second Ack() = %v, %v, want none", seqs(again), err)
	}
	j.Close()
	j = mustOpen(t, path)
	checkPending(t, j, []uint64{1, 3, 5}, t0)
	for i, want := range []bool{false, true, false, true, false} {
		if got, err := j.Acked(all[i].ID); got != want || err != nil {
			t.Errorf("Acked(event %d) = %v, %v, want %v", i+1, got, err, want)
		}
	}
	if got, err := j.Acked("unknown"); got || err != nil {
		t.Errorf("Acked(unknown) = %v, %v, want false, nil", got, err)
	}
	if _, err := j.Ack(ids(all)); err != nil {
		t.Fatal(err)
	}
	checkPending(t, j, nil, time.Time{})
}

func checkPending(t *testing.T, j *Journal, want []uint64, oldest time.Time) {
	t.Helper()
	evs, err := j.Pending(0, 100)
	if got := seqs(evs); err != nil || !slices.Equal(got, want) {
		t.Errorf("Pending() = %v, %v, want %v", got, err, want)
	}
	n, old, err := j.PendingCount()
	if n != len(want) || !old.Equal(oldest) || err != nil {
		t.Errorf("PendingCount() = %d, %v, %v, want %d, %v, nil", n, old, err, len(want), oldest)
	}
}

func TestOpenIncidents(t *testing.T) {
	j := mustOpen(t, tempPath(t))
	steps := []struct {
		put  Snapshot
		want []string
	}{
		{Snapshot{ID: "b", Open: true}, []string{"b"}},
		{Snapshot{ID: "a", Open: true}, []string{"a", "b"}},
		{Snapshot{ID: "b", Open: false, Data: json.RawMessage(`{"closed":true}`)}, []string{"a"}},
		{Snapshot{ID: "b", Open: true}, []string{"a", "b"}},
		{Snapshot{ID: "a", Open: false}, []string{"b"}},
	}
	for i, s := range steps {
		mustAppend(t, j, t0, nil, []Snapshot{s.put})
		open, err := j.OpenIncidents()
		var got []string
		for _, o := range open {
			got = append(got, o.ID)
		}
		if err != nil || !slices.Equal(got, s.want) {
			t.Errorf("step %d: OpenIncidents() = %v, %v, want %v", i, got, err, s.want)
		}
	}
	if s, ok, err := j.Incident("a"); !ok || s.Open || err != nil {
		t.Errorf("Incident(a) = %+v, %v, %v, want closed snapshot", s, ok, err)
	}
	if _, ok, err := j.Incident("zz"); ok || err != nil {
		t.Errorf("Incident(zz) = _, %v, %v, want false, nil", ok, err)
	}
}

func TestIncidentEvents(t *testing.T) {
	j := mustOpen(t, tempPath(t))
	mustAppend(t, j, t0, []Record{rec("x", "a"), rec("x", "ab"), rec("x", "")}, nil)
	mustAppend(t, j, t0, []Record{rec("y", "a"), rec("y", "b")}, nil)
	tests := []struct {
		id   string
		want []uint64
	}{
		{"a", []uint64{1, 4}},
		{"ab", []uint64{2}},
		{"b", []uint64{5}},
		{"", nil},
		{"none", nil},
	}
	for _, tt := range tests {
		evs, err := j.IncidentEvents(tt.id)
		if got := seqs(evs); err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("IncidentEvents(%q) = %v, %v, want %v", tt.id, got, err, tt.want)
		}
	}
}

func TestClockFloor(t *testing.T) {
	path := tempPath(t)
	j := mustOpen(t, path)
	if got := j.ClockFloor(); !got.IsZero() {
		t.Errorf("ClockFloor() = %v on a new journal, want zero", got)
	}
	steps := []struct {
		wall, want time.Time
	}{
		{t0, t0},
		{t0.Add(time.Hour), t0.Add(time.Hour)},
		{time.Unix(0, 0), t0.Add(time.Hour)}, // a box booted in 1970
		{t0.Add(time.Minute), t0.Add(time.Hour)},
	}
	for i, s := range steps {
		mustAppend(t, j, s.wall, []Record{rec("e", "")}, nil)
		if got := j.ClockFloor(); !got.Equal(s.want) {
			t.Errorf("step %d: ClockFloor() = %v, want %v", i, got, s.want)
		}
	}
	j.Close()
	j = mustOpen(t, path)
	if got, want := j.ClockFloor(), t0.Add(time.Hour); !got.Equal(want) {
		t.Errorf("ClockFloor() after reopen = %v, want %v", got, want)
	}
}

func TestInvalidInput(t *testing.T) {
	j := mustOpen(t, tempPath(t))
	tests := []struct {
		name string
		call func() error
	}{
		{"no type", func() error { _, err := j.Append(t0, true, []Record{{}}, nil); return err }},
		{"bad json", func() error {
			_, err := j.Append(t0, true, []Record{{Type: "a", Data: json.RawMessage(`{`)}}, nil)
			return err
		}},
		{"nul in incident", func() error { _, err := j.Append(t0, true, []Record{rec("a", "x\x00")}, nil); return err }},
		{"no snapshot id", func() error { _, err := j.Append(t0, true, nil, []Snapshot{{Open: true}}); return err }},
		{"pending limit 0", func() error { _, err := j.Pending(0, 0); return err }},
		{"events limit -1", func() error { _, err := j.Events(0, -1); return err }},
		{"urgent telemetry", func() error {
			_, err := j.Append(t0, true, []Record{{Type: "a", Telemetry: true, Urgent: true}}, nil)
			return err
		}},
		{"urgent limit 0", func() error { _, err := j.Urgent(0); return err }},
		{"no kiosk id", func() error { _, err := Open(tempPath(t), Options{}); return err }},
		{"negative budget", func() error {
			_, err := Open(tempPath(t), Options{KioskID: "k", TelemetryBudget: -1})
			return err
		}},
		{"cap under the reserve", func() error {
			_, err := Open(tempPath(t), Options{KioskID: "k", MaxSize: 4 << 20, Reserve: 2 << 20})
			return err
		}},
	}
	for _, tt := range tests {
		if err := tt.call(); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: got %v, want ErrInvalid", tt.name, err)
		}
	}
	if n, err := j.LastSeq(); n != 0 || err != nil {
		t.Errorf("LastSeq() = %d, %v after invalid input, want 0, nil", n, err)
	}
}

func TestClosed(t *testing.T) {
	j := mustOpen(t, tempPath(t))
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	calls := map[string]func() error{
		"Close":          j.Close,
		"Touch":          func() error { return j.Touch(t0) },
		"Stats":          func() error { _, err := j.Stats(); return err },
		"Urgent":         func() error { _, err := j.Urgent(1); return err },
		"Append":         func() error { _, err := j.Append(t0, true, []Record{rec("a", "")}, nil); return err },
		"Pending":        func() error { _, err := j.Pending(0, 1); return err },
		"PendingCount":   func() error { _, _, err := j.PendingCount(); return err },
		"Ack":            func() error { _, err := j.Ack([]string{"x"}); return err },
		"Acked":          func() error { _, err := j.Acked("x"); return err },
		"OpenIncidents":  func() error { _, err := j.OpenIncidents(); return err },
		"Incident":       func() error { _, _, err := j.Incident("x"); return err },
		"IncidentEvents": func() error { _, err := j.IncidentEvents("x"); return err },
		"Events":         func() error { _, err := j.Events(0, 1); return err },
		"LastSeq":        func() error { _, err := j.LastSeq(); return err },
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, ErrClosed) {
			t.Errorf("%s after Close: got %v, want ErrClosed", name, err)
		}
	}
}

func TestTouchRaisesFloor(t *testing.T) {
	path := tempPath(t)
	j := mustOpen(t, path)
	mustAppend(t, j, t0, []Record{rec("e", "")}, nil)
	steps := []struct {
		wall, want time.Time
	}{
		{t0.Add(time.Hour), t0.Add(time.Hour)},
		{time.Unix(0, 0), t0.Add(time.Hour)}, // a clock back in 1970 never lowers it
		{t0.Add(2 * time.Hour), t0.Add(2 * time.Hour)},
	}
	for i, s := range steps {
		if err := j.Touch(s.wall); err != nil {
			t.Fatalf("step %d: Touch() = %v, want nil", i, err)
		}
		if got := j.ClockFloor(); !got.Equal(s.want) {
			t.Errorf("step %d: ClockFloor() = %v, want %v", i, got, s.want)
		}
	}
	j.Close()
	j = mustOpen(t, path)
	if got, want := j.ClockFloor(), t0.Add(2*time.Hour); !got.Equal(want) {
		t.Errorf("ClockFloor() after reopen = %v, want %v", got, want)
	}
	if n, err := j.LastSeq(); n != 1 || err != nil {
		t.Errorf("LastSeq() = %d, %v, want 1: Touch appends no event", n, err)
	}
}

func TestConcurrentAppendAck(t *testing.T) {
	j := mustOpen(t, tempPath(t))
	const writers, each = 8, 25
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				evs, err := j.Append(t0, true, []Record{rec("e", fmt.Sprintf("inc-%d", w))}, nil)
				if err != nil {
					t.Errorf("Append: %v", err)
					return
				}
				if i%2 == 0 {
					if _, err := j.Ack(ids(evs)); err != nil {
						t.Errorf("Ack: %v", err)
					}
				}
			}
		})
	}
	wg.Wait()
	evs, err := j.Events(0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for i, e := range evs {
		if e.Seq != uint64(i+1) || seen[e.ID] {
			t.Fatalf("event %d: seq %d id %s: want seq %d and a new id", i, e.Seq, e.ID, i+1)
		}
		seen[e.ID] = true
	}
	n, _, err := j.PendingCount()
	if got, want := len(evs), writers*each; got != want || n != writers*(each/2) || err != nil {
		t.Errorf("%d events, %d pending, %v; want %d, %d", got, n, err, want, writers*(each/2))
	}
}
