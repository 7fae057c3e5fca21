package journal

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// realEvents returns event values as Append stores them.
func realEvents(t testing.TB) [][]byte {
	recs := []Record{
		rec("incident.registered", "inc-1"),
		{Type: "camera.status", Telemetry: true, Data: json.RawMessage(`{"cam":"door","ok":false}`)},
		{Type: "incident.registered", Incident: "inc-2", Urgent: true},
		{Type: "fault"},
	}
	var out [][]byte
	for i, r := range recs {
		ev := Event{ID: newID(), Kiosk: "kiosk-1", BootEpoch: 3, Seq: uint64(i + 1), Type: r.Type,
			Incident: r.Incident, Time: t0, ClockSynced: i%2 == 0, Telemetry: r.Telemetry,
			Urgent: r.Urgent, Data: r.Data}
		v, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	return out
}

// FuzzEventDecode feeds arbitrary bytes to the decoder of stored events:
// an error wrapping ErrCorrupt or an event Append could have written,
// never a panic.
func FuzzEventDecode(f *testing.F) {
	for _, v := range realEvents(f) {
		f.Add(v)
	}
	f.Add([]byte(`{"seq":1,"id":"x","type":"t","telemetry":true,"urgent":true}`))
	f.Add([]byte(`{"seq":-1}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, v []byte) {
		ev, err := decodeEventValue(v)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("decodeEventValue() = %v, want ErrCorrupt", err)
			}
			return
		}
		if ev.Seq == 0 || ev.ID == "" || ev.Type == "" || (ev.Telemetry && ev.Urgent) {
			t.Fatalf("decodeEventValue() = %+v, nil: not an event Append writes", ev)
		}
		// What decodes must survive a round trip through the file.
		again, err := json.Marshal(ev)
		if err != nil {
			t.Fatalf("re-encode %+v: %v", ev, err)
		}
		if _, err := decodeEventValue(again); err != nil {
			t.Fatalf("decode of re-encoded %s: %v", again, err)
		}
	})
}

// smallJournal returns the bytes of a small real journal file, with
// sealed events pending and acked, telemetry, urgent events and an open
// incident: mutations of it exercise the salvage.
func smallJournal(f testing.TB) []byte {
	path := filepath.Join(f.TempDir(), "seed.db")
	j, err := Open(path, fuzzOptions)
	if err != nil {
		f.Fatal(err)
	}
	evs, err := j.Append(t0, true, []Record{rec("alarm", "inc-1"), telemetry("t"), {Type: "u", Urgent: true}},
		[]Snapshot{{ID: "inc-1", Open: true, Data: json.RawMessage(`{"s":1}`)}})
	if err == nil {
		_, err = j.Ack(ids(evs[1:2]))
	}
	if err != nil {
		f.Fatal(err)
	}
	j.Close()
	b, err := os.ReadFile(path)
	if err != nil {
		f.Fatal(err)
	}
	return b
}

// fuzzOptions keep each iteration fast: a short lock wait, a small reserve.
var fuzzOptions = Options{KioskID: "kiosk-1", Timeout: 100 * time.Millisecond, Reserve: 64 << 10}

// fuzzDir is one directory per fuzzing process, on tmpfs where there is
// one: an fsync there costs nothing, so an input costs its own work, not
// the disk's.
// The fuzzer kills its workers at the end, so their directories are
// named by pid and removed by the next worker once that pid is gone.
var fuzzDir = sync.OnceValues(func() (string, error) {
	base := os.TempDir()
	if info, err := os.Stat("/dev/shm"); err == nil && info.IsDir() {
		base = "/dev/shm"
	}
	old, _ := filepath.Glob(filepath.Join(base, "journal-fuzz-*"))
	for _, dir := range old {
		pid, err := strconv.Atoi(strings.TrimPrefix(filepath.Base(dir), "journal-fuzz-"))
		if err == nil && syscall.Kill(pid, 0) == syscall.ESRCH {
			os.RemoveAll(dir)
		}
	}
	dir := filepath.Join(base, fmt.Sprintf("journal-fuzz-%d", os.Getpid()))
	return dir, os.MkdirAll(dir, 0o700)
})

// fuzzPath returns an empty place for one input's journal.
func fuzzPath(t testing.TB) string {
	dir, err := fuzzDir()
	if err != nil {
		t.Fatal(err)
	}
	old, _ := filepath.Glob(filepath.Join(dir, "*"))
	for _, p := range old {
		if err := os.Remove(p); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, "journal.db")
}

// FuzzOpen damages a real journal and opens it: Open works (salvaging a
// damaged file) or returns an error; it never panics, and a journal it
// returns takes an alarm. After a salvage, every critical event intact
// in the damaged bytes is in the new journal, and new seqs are above all
// of them.
//
// An input is not a whole file but edits to one of two real journals
// kept in memory (see applyEdits), or, with raw set, the file's bytes
// themselves. Inputs stay a few bytes long, so that the fuzzer's
// minimization of each new input, which runs Open once per byte it tries
// to remove, takes milliseconds rather than the whole run (with whole
// 32 KiB files as inputs it did, and the fuzzer counted about 8 inputs a
// second).
func FuzzOpen(f *testing.F) {
	templates := [][]byte{smallJournal(f), historyJournal(f)}
	page := byte(os.Getpagesize() / 4096) // zero-page edits count 4 KiB units
	f.Add(false, byte(0), []byte{})
	f.Add(false, byte(0), []byte{editZeroPage, 0})
	f.Add(false, byte(1), []byte{editZeroPage, page})
	f.Add(false, byte(1), []byte{editTruncate, 0x00, 0x40})
	f.Add(false, byte(1), []byte{editWrite, 0x00, 0x30, 4, 0xa5, 0xa5, 0xa5, 0xa5})
	f.Add(true, byte(0), []byte{})
	f.Add(true, byte(0), []byte("not a journal"))
	f.Cleanup(func() {
		if dir, err := fuzzDir(); err == nil {
			os.RemoveAll(dir)
		}
	})
	f.Fuzz(func(t *testing.T, raw bool, template byte, in []byte) {
		b := in
		if !raw {
			b = applyEdits(templates[int(template)%len(templates)], in)
		} else if len(in) > maxRawInput {
			t.Skip("raw inputs are kept small; whole files come from the templates")
		}
		fuzzOpenOnce(t, b)
	})
}

// maxRawInput bounds raw inputs: minimizing a larger one would take the
// fuzzer's whole run.
const maxRawInput = 4 << 10

// A file FuzzOpen once found looping bbolt's cursor for ever (a branch
// page pointing back up its own path), kept as a whole file: Open must
// salvage it, not hang.
func TestOpenCursorLoopFile(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "cursor-loop-1.bbolt"))
	if err != nil {
		t.Fatal(err)
	}
	if !fuzzOpenOnce(t, b) {
		t.Error("Open did not salvage the looping file")
	}
}

// Edits to a template journal, one after the other; an edit cut short by
// the end of the input is left out.
const (
	editWrite    = iota // offset (2 bytes, big-endian), n (1 byte), n bytes: overwrite
	editZeroPage        // page (1 byte): zero 4 KiB at page×4 KiB
	editTruncate        // size (2 bytes, big-endian) in 4-byte units: truncate
)

// applyEdits returns a copy of tpl with the edits of in applied.
func applyEdits(tpl, in []byte) []byte {
	b := bytes.Clone(tpl)
	for len(in) > 0 {
		op := in[0] % 3
		in = in[1:]
		switch {
		case op == editWrite && len(in) >= 3 && len(in) >= 3+int(in[2]):
			off, n := int(in[0])<<8|int(in[1]), int(in[2])
			if off < len(b) {
				copy(b[off:], in[3:3+n])
			}
			in = in[3+n:]
		case op == editZeroPage && len(in) >= 1:
			off := int(in[0]) * 4096
			if off < len(b) {
				clear(b[off:min(len(b), off+4096)])
			}
			in = in[1:]
		case op == editTruncate && len(in) >= 2:
			b = b[:min(len(b), 4*(int(in[0])<<8|int(in[1])))]
			in = in[2:]
		default:
			return b
		}
	}
	return b
}

// historyJournal returns the bytes of a journal over two boots with acked
// history, pending alarms, telemetry and incidents, open and closed.
func historyJournal(f testing.TB) []byte {
	path := filepath.Join(f.TempDir(), "history.db")
	for boot := range 2 {
		j, err := Open(path, fuzzOptions)
		if err != nil {
			f.Fatal(err)
		}
		var recs []Record
		for i := range 30 {
			recs = append(recs, Record{Type: "note", Incident: fmt.Sprintf("old-%d", boot),
				Data: json.RawMessage(fmt.Sprintf(`{"i":%d,"pad":"%0100d"}`, i, i))})
		}
		evs, err := j.Append(t0, true, recs, []Snapshot{{ID: fmt.Sprintf("old-%d", boot)}})
		if err == nil {
			_, err = j.Ack(ids(evs))
		}
		if err == nil {
			_, err = j.Append(t0, true, []Record{{Type: "alarm", Incident: "open", Urgent: true}, rec("fault", ""), telemetry("t")},
				[]Snapshot{{ID: "open", Open: true, Data: json.RawMessage(`{"deadline":"x"}`)}})
		}
		if err != nil {
			f.Fatal(err)
		}
		j.Close()
	}
	b, err := os.ReadFile(path)
	if err != nil {
		f.Fatal(err)
	}
	return b
}

// fuzzOpenOnce is one input of FuzzOpen; it reports whether Open salvaged.
func fuzzOpenOnce(t testing.TB, b []byte) (salvaged bool) {
	path := fuzzPath(t)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	j, err := Open(path, fuzzOptions)
	if err != nil {
		return false
	}
	defer j.Close()
	salvaged = j.Salvaged().Reason != ""
	if salvaged {
		checkFuzzSalvage(t, j, b)
	}
	_, _ = j.Pending(0, 10)
	_, _ = j.Urgent(10)
	_, _ = j.Stats()
	_, _ = j.OpenIncidents()
	if _, err := j.Append(t0, true, []Record{rec("alarm", "inc-9")}, nil); err != nil &&
		!errors.Is(err, ErrCorrupt) {
		t.Errorf("Append on an opened journal = %v, want nil or ErrCorrupt", err)
	}
	return salvaged
}

// BenchmarkFuzzOpen runs FuzzOpen's body on the seed journal with 8
// random bytes changed per input, half of which need a salvage: the
// inputs per second the fuzzer can reach on this machine.
func BenchmarkFuzzOpen(b *testing.B) {
	good := smallJournal(b)
	rng := rand.New(rand.NewPCG(1, 2))
	salvaged := 0
	for b.Loop() {
		in := bytes.Clone(good)
		for range 8 {
			in[rng.IntN(len(in))] = byte(rng.Uint32())
		}
		if fuzzOpenOnce(b, in) {
			salvaged++
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "inputs/s")
	b.ReportMetric(float64(salvaged)/float64(b.N), "salvaged/input")
}

// checkFuzzSalvage checks a salvage of input b against the sealed
// records a raw scan finds in b.
func checkFuzzSalvage(t testing.TB, j *Journal, b []byte) {
	in := &found{events: map[string]Event{}, snaps: map[string]foundSnap{}}
	in.scanBytes(b, 0)
	err := j.view("fuzz check", func(tx *bolt.Tx) error {
		ids := tx.Bucket(bucketIDs)
		for id, ev := range in.events {
			if !ev.Telemetry && ids.Get([]byte(id)) == nil {
				t.Errorf("critical event %d (%s) intact in the input, missing after salvage", ev.Seq, id)
			}
		}
		if next := tx.Bucket(bucketEvents).Sequence() + 1; next <= in.maxSeq {
			t.Errorf("next seq %d after salvage, want above %d found in the input", next, in.maxSeq)
		}
		return nil
	})
	if err != nil {
		t.Errorf("view after salvage: %v", err)
	}
}
