package journal

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// kept is what a journal held before it was damaged.
type kept struct {
	unacked []Event    // every unacked event, alarms and telemetry
	open    []Snapshot // open incidents
	clips   []Clip
	maxSeq  uint64
	epoch   uint64
	counter uint64
}

// alarmJournal writes a journal over three boots as the daemon does: per
// boot, acked history of a closed incident, unacked alarms (some urgent)
// of an open incident whose snapshot carries its deadline, unacked
// telemetry, a clip and a command; then closes it.
func alarmJournal(t *testing.T, path string) kept {
	t.Helper()
	var k kept
	pad := strings.Repeat("p", 300)
	for boot := 1; boot <= 3; boot++ {
		j := mustOpen(t, path)
		closed, open := fmt.Sprintf("done-%d", boot), fmt.Sprintf("inc-%d", boot)
		var history []Record
		for i := range 40 {
			history = append(history, Record{Type: "incident.note", Incident: closed,
				Data: json.RawMessage(fmt.Sprintf(`{"i":%d,"pad":%q}`, i, pad))})
		}
		hist := mustAppend(t, j, t0, history, []Snapshot{{ID: closed, Data: json.RawMessage(`{"closed":true}`)}})
		if _, err := j.Ack(ids(hist)); err != nil {
			t.Fatal(err)
		}
		snap := Snapshot{ID: open, Open: true, Data: json.RawMessage(fmt.Sprintf(`{"callback_by":"2025-03-01T08:0%d:00Z"}`, boot))}
		alarms := []Record{
			{Type: "incident.registered", Incident: open, Urgent: true, Data: json.RawMessage(fmt.Sprintf(`{"boot":%d}`, boot))},
			{Type: "incident.escalated", Incident: open, Data: json.RawMessage(`{"to":"station"}`)},
			{Type: "fault.raised", Data: json.RawMessage(`{"fault":"camera"}`)},
			{Type: "camera.status", Telemetry: true, Data: json.RawMessage(`{"ok":false}`)},
		}
		k.unacked = append(k.unacked, mustAppend(t, j, t0.Add(time.Duration(boot)*time.Minute), alarms, []Snapshot{snap})...)
		k.open = append(k.open, snap)
		c := Clip{ID: fmt.Sprintf("clip-%d", boot), Incident: open, Camera: "door", File: "f.mp4", Ordered: t0}
		if err := j.AddClip(c); err != nil {
			t.Fatal(err)
		}
		c.State = ClipRecording
		k.clips = append(k.clips, c)
		k.counter = uint64(100 * boot)
		if _, err := j.AdmitCommand(k.counter, fmt.Sprintf("c-%d", boot)); err != nil {
			t.Fatal(err)
		}
		k.maxSeq, k.epoch = k.unacked[len(k.unacked)-1].Seq, j.BootEpoch()
		if err := j.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return k
}

// survived returns the events whose stored bytes are intact in the file.
func survived(t *testing.T, path string, evs []Event) []Event {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []Event
	for _, ev := range evs {
		v, err := encodeEvent(ev)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, v) {
			out = append(out, ev)
		}
	}
	return out
}

// damageKinds damage a journal file in the ways GUARANTEES.md names.
var damageKinds = []struct {
	name string
	do   func(t *testing.T, path string, rng *rand.Rand)
}{
	{"random bytes", func(t *testing.T, path string, rng *rand.Rand) {
		size := fileSize(t, path)
		for range 4 {
			off := rng.Int64N(size - 32)
			b := make([]byte, 32)
			for i := range b {
				b[i] = byte(rng.Uint32())
			}
			writeAt(t, path, b, off)
		}
	}},
	{"truncated to half", func(t *testing.T, path string, _ *rand.Rand) {
		if err := os.Truncate(path, fileSize(t, path)/2); err != nil {
			t.Fatal(err)
		}
	}},
	{"meta page 0 zeroed", func(t *testing.T, path string, _ *rand.Rand) { zeroPages(t, path, 0, 1) }},
	{"meta page 1 zeroed", func(t *testing.T, path string, _ *rand.Rand) { zeroPages(t, path, 1, 2) }},
	{"both meta pages zeroed", func(t *testing.T, path string, _ *rand.Rand) { zeroPages(t, path, 0, 2) }},
	{"a data page zeroed", func(t *testing.T, path string, rng *rand.Rand) {
		pages := fileSize(t, path) / int64(os.Getpagesize())
		p := 2 + rng.Int64N(pages-2)
		zeroPages(t, path, p, p+1)
	}},
	{"every page zeroed", func(t *testing.T, path string, _ *rand.Rand) {
		zeroPages(t, path, 0, fileSize(t, path)/int64(os.Getpagesize()))
	}},
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return info.Size()
}

func writeAt(t *testing.T, path string, b []byte, off int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

// zeroPages zeroes pages [from, to) of path.
func zeroPages(t *testing.T, path string, from, to int64) {
	t.Helper()
	page := int64(os.Getpagesize())
	writeAt(t, path, make([]byte, (to-from)*page), from*page)
}

// Every kind of damage: every unacked event whose bytes survived is back
// in the outbox, unchanged; seq and epoch continue above everything used;
// a restart before anything is appended keeps it all and reports it
// again. (Damage to a free page is not found, and needs nothing.)
func TestSalvageAfterDamage(t *testing.T) {
	for _, kind := range damageKinds {
		for seed := range uint64(3) {
			t.Run(fmt.Sprintf("%s/%d", kind.name, seed), func(t *testing.T) {
				path := tempPath(t)
				k := alarmJournal(t, path)
				kind.do(t, path, rand.New(rand.NewPCG(seed, 13)))
				want := survived(t, path, k.unacked)
				if kind.name != "every page zeroed" && kind.name != "random bytes" && len(want) == 0 {
					t.Fatalf("no unacked event survived %s: the test damages too much", kind.name)
				}
				j := mustOpen(t, path)
				checkRequeued(t, j, want)
				checkAbove(t, j, k)
				first := j.Salvaged()
				j.Close()
				j = mustOpen(t, path) // a restart before anyone acknowledged it
				first.BootEpoch = j.BootEpoch()
				if first.Reason != "" && j.Salvaged() != first {
					t.Errorf("second Open: Salvaged() = %+v, want the salvage reported again", j.Salvaged())
				}
				checkRequeued(t, j, want)
				checkAbove(t, j, k)
			})
		}
	}
}

// checkRequeued checks that every event of want is pending, unchanged.
func checkRequeued(t *testing.T, j *Journal, want []Event) {
	t.Helper()
	pending, err := j.Pending(0, 10_000)
	if err != nil {
		t.Fatalf("Pending: %v", err)
	}
	byID := map[string]Event{}
	for _, ev := range pending {
		byID[ev.ID] = ev
	}
	for _, ev := range want {
		if got, ok := byID[ev.ID]; !ok || !reflect.DeepEqual(got, ev) {
			t.Errorf("event %d (%s) after salvage: %+v, present %v; want %+v", ev.Seq, ev.Type, got, ok, ev)
		}
	}
	urgent, err := j.Urgent(100)
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range want {
		if ev.Urgent && !slices.ContainsFunc(urgent, func(u Event) bool { return u.ID == ev.ID }) {
			t.Errorf("urgent event %d not in Urgent() after salvage", ev.Seq)
		}
	}
}

// checkAbove appends and checks that seq and epoch are above every one the
// damaged file used.
func checkAbove(t *testing.T, j *Journal, k kept) {
	t.Helper()
	if j.BootEpoch() <= k.epoch {
		t.Errorf("BootEpoch() = %d, want above %d", j.BootEpoch(), k.epoch)
	}
	seq, err := j.LastSeq()
	if err != nil || seq < k.maxSeq {
		t.Errorf("LastSeq() = %d, %v; want at least %d, the highest used", seq, err, k.maxSeq)
	}
}

// A salvage keeps open incidents, the clip index and the command counter
// when bbolt can still read them (one meta page gone).
func TestSalvageKeepsState(t *testing.T) {
	path := tempPath(t)
	k := alarmJournal(t, path)
	withBolt(t, path, func(tx *bolt.Tx) error { // as a newer program might add
		b, err := tx.CreateBucket([]byte("future_bucket"))
		if err == nil {
			err = b.Put([]byte("window"), []byte("w"))
		}
		return err
	})
	mustOpen(t, path).Close() // one more commit: both meta pages know the bucket
	zeroPages(t, path, 0, 1)
	j := mustOpen(t, path)
	s := j.Salvaged()
	if s.Aside == "" || s.Aside != j.Recovered() || s.Requeued < len(k.unacked) || s.BootEpoch != j.BootEpoch() {
		t.Errorf("Salvaged() = %+v, Recovered() = %q; want the aside, %d requeued, epoch %d",
			s, j.Recovered(), len(k.unacked), j.BootEpoch())
	}
	open, err := j.OpenIncidents()
	if err != nil || !reflect.DeepEqual(open, k.open) {
		t.Errorf("OpenIncidents() = %+v, %v; want %+v", open, err, k.open)
	}
	clips, err := j.Clips()
	if err != nil || !reflect.DeepEqual(clips, k.clips) {
		t.Errorf("Clips() = %+v, %v; want %+v", clips, err, k.clips)
	}
	if n, err := j.CommandCounter(); n != k.counter || err != nil {
		t.Errorf("CommandCounter() = %d, %v; want %d", n, err, k.counter)
	}
	err = j.view("future", func(tx *bolt.Tx) error {
		if b := tx.Bucket([]byte("future_bucket")); b == nil || string(b.Get([]byte("window"))) != "w" {
			t.Error("a bucket of a newer program did not survive the salvage")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	evs := mustAppend(t, j, t0, []Record{rec("journal.recovered", "")}, nil)
	if evs[0].Seq != s.SeqFrom || evs[0].Seq <= k.maxSeq {
		t.Errorf("first new seq %d, want SeqFrom %d above %d", evs[0].Seq, s.SeqFrom, k.maxSeq)
	}
	j.Close()
	j = mustOpen(t, path)
	if got := j.Salvaged(); got != (Salvage{}) || j.Recovered() != "" {
		t.Errorf("after an Append and a restart: Salvaged() = %+v, Recovered() = %q; want none", got, j.Recovered())
	}
	if p, err := j.Pending(0, 100); err != nil || len(p) != len(k.unacked)+1 {
		t.Errorf("Pending() = %d events, %v; want %d", len(p), err, len(k.unacked)+1)
	}
}

// Acked events stay acked through a salvage that could read the outbox.
func TestSalvageKeepsAcks(t *testing.T) {
	path := tempPath(t)
	k := alarmJournal(t, path)
	zeroPages(t, path, 1, 2)
	j := mustOpen(t, path)
	if s := j.Salvaged(); s.Requeued != len(k.unacked) || s.Events <= s.Requeued {
		t.Errorf("Salvaged() = %+v, want exactly the %d unacked requeued and the history kept", s, len(k.unacked))
	}
}

// A missing journal whose high-water mark remains starts empty, above
// every seq and epoch used; without the mark it starts as a new kiosk.
func TestMissingJournal(t *testing.T) {
	path := tempPath(t)
	k := alarmJournal(t, path)
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	j := mustOpen(t, path)
	if s := j.Salvaged(); s.Reason == "" || s.Aside != "" || j.Recovered() != "" {
		t.Errorf("Salvaged() = %+v, Recovered() = %q; want a reason, no aside", s, j.Recovered())
	}
	checkAbove(t, j, k)
	evs := mustAppend(t, j, t0, []Record{rec("a", "")}, nil)
	if evs[0].Seq <= k.maxSeq {
		t.Errorf("first seq %d, want above %d", evs[0].Seq, k.maxSeq)
	}
	j.Close()

	fresh := filepath.Join(t.TempDir(), "journal.db")
	j = mustOpen(t, fresh)
	if j.Salvaged() != (Salvage{}) {
		t.Errorf("new kiosk: Salvaged() = %+v, want none", j.Salvaged())
	}
	checkFresh(t, j)
}

// A crash between setting the damaged file aside and moving the new one
// in is finished by the next Open.
func TestSalvageCutBetweenRenames(t *testing.T) {
	path := tempPath(t)
	k := alarmJournal(t, path)
	zeroPages(t, path, 0, 1)
	j := mustOpen(t, path)
	j.Close()
	// Put the state back as the crash left it.
	if err := os.Rename(path, path+".salvage"); err != nil {
		t.Fatal(err)
	}
	j = mustOpen(t, path)
	checkRequeued(t, j, k.unacked)
	if j.Salvaged().Reason == "" {
		t.Error("Salvaged() empty after finishing a cut salvage")
	}
}

// At most maxAsides damaged files are kept; the newest always.
func TestAsidesBounded(t *testing.T) {
	path := tempPath(t)
	for i := range maxAsides + 3 {
		writeFile(t, path, []byte("garbage"))
		j := mustOpen(t, path)
		if _, err := os.Stat(j.Recovered()); err != nil {
			t.Errorf("round %d: the file just set aside is gone: %v", i, err)
		}
		j.Close()
	}
	if got := asides(t, path); len(got) != maxAsides {
		t.Errorf("%d files aside, want %d: %v", len(got), maxAsides, got)
	}
}

// An id entry damaged to point at another event is found at Open, and
// the salvage rebuilds it: an ack then removes its own event only.
func TestDamagedIDEntry(t *testing.T) {
	path := tempPath(t)
	j := mustOpen(t, path)
	evs := mustAppend(t, j, t0, []Record{rec("a", ""), rec("b", "")}, nil)
	j.Close()
	withBolt(t, path, func(tx *bolt.Tx) error {
		return tx.Bucket(bucketIDs).Put([]byte(evs[0].ID), seqKey(evs[1].Seq))
	})
	j = mustOpen(t, path)
	if j.Recovered() == "" {
		t.Error("a damaged id entry was not found at Open")
	}
	if acked, err := j.Ack([]string{evs[0].ID}); err != nil || len(acked) != 1 || acked[0].ID != evs[0].ID {
		t.Errorf("Ack(%s) = %v, %v; want only that event", evs[0].ID, ids(acked), err)
	}
	if p, err := j.Pending(0, 10); err != nil || len(p) != 1 || p[0].ID != evs[1].ID {
		t.Errorf("Pending() = %v, %v; want the other event", ids(p), err)
	}
}

// Values written before format 3 have no checksum: they open, are checked
// by decoding, and a salvage recovers them through bbolt's reads. A
// sealed value still decodes as an older program decodes it.
func TestLegacyRecords(t *testing.T) {
	path := tempPath(t)
	k := alarmJournal(t, path)
	withBolt(t, path, func(tx *bolt.Tx) error {
		events := tx.Bucket(bucketEvents)
		return events.ForEach(func(key, v []byte) error {
			var ev Event // as an older program decodes it
			if err := json.Unmarshal(v, &ev); err != nil {
				return err
			}
			if _, st := unseal(v); st != sealOK {
				return fmt.Errorf("event %d not sealed", ev.Seq)
			}
			plain, err := json.Marshal(ev)
			if err != nil {
				return err
			}
			return events.Put(key, plain)
		})
	})
	j := mustOpen(t, path)
	if j.Recovered() != "" {
		t.Fatalf("legacy file set aside: %+v", j.Salvaged())
	}
	checkRequeued(t, j, k.unacked)
	j.Close()
	zeroPages(t, path, 1, 2)
	j = mustOpen(t, path)
	if s := j.Salvaged(); s.Requeued != len(k.unacked) {
		t.Errorf("Salvaged() = %+v, want %d legacy events requeued", s, len(k.unacked))
	}
	checkRequeued(t, j, k.unacked)
}

// The check at Open costs one checksum per stored value: measure it on a
// journal of 100,000 acked events (about 60 MB).
func BenchmarkOpenWithHistory(b *testing.B) {
	j, path, all := withBacklog(b, backlogSize)
	for len(all) > 0 {
		n := min(len(all), 4096)
		if _, err := j.Ack(all[:n]); err != nil {
			b.Fatal(err)
		}
		all = all[n:]
	}
	j.Close()
	for b.Loop() {
		j, err := Open(path, Options{KioskID: "kiosk-1"})
		if err != nil || j.Recovered() != "" {
			b.Fatal(err, j.Recovered())
		}
		j.Close()
	}
}

// A salvage that cannot build its new file still starts, empty, above
// every seq and epoch used, and says so across a restart.
func TestSalvageWithoutRoom(t *testing.T) {
	path := tempPath(t)
	k := alarmJournal(t, path)
	zeroPages(t, path, 0, 2)
	if err := os.MkdirAll(filepath.Join(path+".salvage", "in-the-way"), 0o700); err != nil {
		t.Fatal(err)
	}
	j := mustOpen(t, path)
	s := j.Salvaged()
	if j.Recovered() == "" || !strings.Contains(s.Reason, "nothing could be rebuilt") || s.Events != 0 {
		t.Errorf("Salvaged() = %+v, Recovered() = %q; want the aside and why nothing came back", s, j.Recovered())
	}
	checkAbove(t, j, k)
	j.Close()
	j = mustOpen(t, path)
	if got := j.Salvaged(); got.Reason != s.Reason || j.Recovered() != s.Aside {
		t.Errorf("after a restart: Salvaged() = %+v, want %+v", got, s)
	}
	checkAbove(t, j, k)
}

// BenchmarkSalvage measures a salvage of a journal holding 100,000 pending
// events (about 60 MB) whose newest meta page is zeroed: bbolt's reads,
// the raw scan and the rebuild.
func BenchmarkSalvage(b *testing.B) {
	j, path, _ := withBacklog(b, backlogSize)
	j.Close()
	zeroPagesTB(b, path, 0, 1)
	damaged, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		b.StopTimer()
		p := tempPath(b)
		if err := os.WriteFile(p, damaged, 0o600); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		j, err := Open(p, Options{KioskID: "kiosk-1"})
		if err != nil || j.Salvaged().Requeued != backlogSize {
			b.Fatalf("Open = %v, salvaged %+v; want %d requeued", err, j.Salvaged(), backlogSize)
		}
		j.Close()
	}
}

func zeroPagesTB(tb testing.TB, path string, from, to int64) {
	page := int64(os.Getpagesize())
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(make([]byte, (to-from)*page), from*page); err != nil {
		tb.Fatal(err)
	}
}

// Many salvages within a second, one of them in the second before: the
// asides kept are always the newest, and their names sort in the order
// they were set aside. A name freed by boundAsides was once reused for a
// newer file, which then sorted first and outlived older ones.
func TestAsidesNamedInOrder(t *testing.T) {
	path := tempPath(t)
	second := time.Date(2026, 12, 7, 10, 35, 10, 0, time.UTC)
	var made []string
	for i := range maxAsides + 8 {
		now := second
		if i == 0 {
			now = second.Add(-time.Second)
		}
		writeFile(t, path, []byte("garbage"))
		aside, err := setAside(path, now)
		if err != nil {
			t.Fatal(err)
		}
		boundAsides(path, aside)
		made = append(made, aside)
	}
	if !slices.IsSortedFunc(made, olderAside(path)) {
		t.Errorf("names do not sort in the order they were set aside: %v", made)
	}
	got := asides(t, path)
	slices.SortFunc(got, olderAside(path))
	if want := made[len(made)-maxAsides:]; !slices.Equal(got, want) {
		t.Errorf("asides kept %v, want the %d newest %v", got, maxAsides, want)
	}
}
