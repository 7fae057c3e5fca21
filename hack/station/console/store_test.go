package console

import (
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"kioskd/cloudlink/contract"
)

// event makes a Received as a kiosk would send it.
func event(kiosk string, seq uint64, typ, incident string) Received {
	ev := contract.Event{V: 1, ID: fmt.Sprintf("%s-e%d-%s", kiosk, seq, typ), Kiosk: kiosk, BootEpoch: 1,
		Seq: seq, Type: typ, Incident: incident, Time: time.Unix(1_700_000_000+int64(seq), 0).UTC(),
		Data: json.RawMessage(`{"source":"button:police"}`)}
	b, _ := json.Marshal(ev)
	return Received{Kiosk: kiosk, Event: ev, Payload: b}
}

func openStore(t *testing.T) *Store {
	t.Helper()
	s, err := OpenStore(filepath.Join(t.TempDir(), "station.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestStoreDedupesByID(t *testing.T) {
	s := openStore(t)
	a, b := event("k1", 1, "incident.registered", "inc-1"), event("k1", 2, "incident.delivered", "inc-1")
	got, err := s.PutEvents([]Received{a, b, a})
	if err != nil {
		t.Fatal(err)
	}
	if !got[0].New || !got[1].New || got[2].New {
		t.Errorf("first batch: got new = %v %v %v, want true true false", got[0].New, got[1].New, got[2].New)
	}
	got, err = s.PutEvents([]Received{b})
	if err != nil {
		t.Fatal(err)
	}
	if got[0].New {
		t.Error("a re-sent event was stored again")
	}
	if n, _ := s.CountEvents(); n != 2 {
		t.Errorf("stored events: got %d, want 2", n)
	}
	tl, err := s.Timeline("k1", "inc-1")
	if err != nil {
		t.Fatal(err)
	}
	if len(tl) != 2 || tl[0].Seq != 1 || tl[1].Seq != 2 {
		t.Errorf("timeline: got %+v, want seqs 1, 2", tl)
	}
}

func TestStoreSurvivesReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "station.db")
	s, err := OpenStore(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutEvents([]Received{event("k1", 1, "kiosk.started", ""), event("k1", 3, "kiosk.started", "")}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = OpenStore(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	spans, err := s.Seqs()
	if err != nil {
		t.Fatal(err)
	}
	if len(spans) != 1 || fmt.Sprint(spans[0].Seqs) != "[1 3]" {
		t.Errorf("seqs after reopen: got %+v, want k1 [1 3]", spans)
	}
}

func TestStoreNewJournalStartsNewGeneration(t *testing.T) {
	tests := []struct {
		name  string
		batch []Received
		want  []uint64 // generation of each
	}{
		{"seq 1 again first", []Received{event("k1", 1, "a", ""), event("k1", 2, "a", ""), event("k1", 3, "a", ""),
			event("k1", 1, "kiosk.started", ""), event("k1", 2, "journal.recovered", "")}, []uint64{0, 0, 0, 1, 1}},
		{"recovered first", []Received{event("k1", 1, "a", ""), event("k1", 2, "a", ""), event("k1", 3, "a", ""),
			event("k1", 2, "journal.recovered", ""), event("k1", 1, "kiosk.started", "")}, []uint64{0, 0, 0, 1, 1}},
		{"other kiosk untouched", []Received{event("k1", 5, "a", ""), event("k2", 5, "b", "")}, []uint64{0, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := openStore(t)
			for i, r := range tt.batch {
				got, err := s.PutEvents([]Received{r})
				if err != nil {
					t.Fatal(err)
				}
				if got[0].Gen != tt.want[i] {
					t.Errorf("event %d (seq %d %s): got generation %d, want %d", i, r.Event.Seq, r.Event.Type, got[0].Gen, tt.want[i])
				}
			}
		})
	}
}

func TestSignedCommandCounterRises(t *testing.T) {
	s := openStore(t)
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_700_000_000, 0)
	var last uint64
	// The same instant twice, then a clock stepped back: the counter still rises.
	for i, at := range []time.Time{now, now, now.Add(-time.Hour)} {
		cmd, msg, err := s.signCommand(priv, contract.Command{V: 1, ID: fmt.Sprint("c", i), Kiosk: "k1", Name: "accept"}, at)
		if err != nil {
			t.Fatal(err)
		}
		if cmd.Counter <= last {
			t.Errorf("command %d: counter %d, want above %d", i, cmd.Counter, last)
		}
		last = cmd.Counter
		opened, err := contract.OpenCommand(msg, []ed25519.PublicKey{pub})
		if err != nil {
			t.Fatalf("command %d does not verify: %v", i, err)
		}
		if opened.Counter != cmd.Counter || opened.ID != cmd.ID {
			t.Errorf("command %d: opened %+v, want %+v", i, opened, cmd)
		}
	}
}
