package journal

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
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

// smallJournal returns the bytes of a small real journal file.
func smallJournal(f *testing.F) []byte {
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

// FuzzOpen writes arbitrary bytes at the journal's path and opens it:
// Open works, sets the file aside or returns an error; it never panics,
// and a journal it returns takes an alarm.
func FuzzOpen(f *testing.F) {
	f.Add(smallJournal(f))
	f.Add([]byte{})
	f.Add([]byte("not a journal"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > 1<<20 {
			t.Skip("inputs are kept small")
		}
		path := filepath.Join(t.TempDir(), "journal.db")
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		j, err := Open(path, fuzzOptions)
		if err != nil {
			return
		}
		defer j.Close()
		_, _ = j.Pending(0, 10)
		_, _ = j.Urgent(10)
		_, _ = j.Stats()
		_, _ = j.OpenIncidents()
		if _, err := j.Append(t0, true, []Record{rec("alarm", "inc-9")}, nil); err != nil &&
			!errors.Is(err, ErrCorrupt) {
			t.Errorf("Append on an opened journal = %v, want nil or ErrCorrupt", err)
		}
	})
}
