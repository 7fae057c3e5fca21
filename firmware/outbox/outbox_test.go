package outbox

import (
	"context"
	"encoding/json"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"kioskd/cloudlink/contract"
	"kioskd/kiosk"
	"kioskd/kiosk/journal"
)

// rig is an outbox over a real journal file and a running controller.
func rig(t *testing.T) (*Outbox, *journal.Journal, *kiosk.Controller) {
	t.Helper()
	j, err := journal.Open(filepath.Join(t.TempDir(), "journal.db"), journal.Options{KioskID: "post-1"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	log := slog.New(slog.DiscardHandler)
	clock := kiosk.NewClock(time.Now, j.ClockFloor(), func() bool { return true })
	ctrl := kiosk.New(kiosk.Rules{CallbackWithin: 5 * time.Minute, CloseWithin: 24 * time.Hour}, "test", j, clock, kiosk.NewState(), log)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ctrl.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return New(j, ctrl, log), j, ctrl
}

// TestOutbox: a press is urgent and pending, in the contract's envelope;
// the state carries the incident with every field, a test call's too; an
// ack takes the events out and marks the incident delivered, and a clip
// whose end was acked is marked acked in the clip index.
func TestOutbox(t *testing.T) {
	o, j, ctrl := rig(t)
	ctx := context.Background()
	inc, err := ctrl.Submit(ctx, kiosk.Press{Request: kiosk.Police, Source: "button:police"})
	if err != nil {
		t.Fatal(err)
	}
	testCall, err := ctrl.Submit(ctx, kiosk.Press{Request: kiosk.Requests[1], Source: "self-test", Test: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ctrl.Submit(ctx, kiosk.Accept{Incident: inc, Responder: "王警官"}); err != nil {
		t.Fatal(err)
	}
	urgent, err := o.Urgent(10)
	if err != nil || len(urgent) == 0 || urgent[0].Type != kiosk.EvRegistered || urgent[0].Incident != inc {
		t.Fatalf("Urgent = %+v, %v; want the registration first", urgent, err)
	}
	pending, err := o.Pending(0, 100)
	if err != nil || len(pending) < 3 {
		t.Fatalf("Pending = %d events, %v; want the registrations and the acceptance", len(pending), err)
	}
	for _, ev := range pending {
		if ev.V != contract.SchemaVersion || ev.Kiosk != "post-1" || ev.BootEpoch != j.BootEpoch() || ev.ID == "" || ev.Seq == 0 {
			t.Errorf("event envelope %+v", ev)
		}
	}
	st := o.State()
	if st.V != contract.SchemaVersion || st.Kiosk != "post-1" || len(st.Incidents) != 2 {
		t.Fatalf("State = %+v", st)
	}
	byID := map[string]contract.Incident{}
	for _, in := range st.Incidents {
		byID[in.ID] = in
	}
	if got := byID[inc]; got.Test || got.Responder != "王警官" || got.Status != string(kiosk.Accepted) || got.Delivered {
		t.Errorf("State incident %+v, want accepted by 王警官, not delivered", got)
	}
	if got := byID[testCall]; !got.Test {
		t.Errorf("State test call %+v, want test", got)
	}

	clip := journal.Clip{ID: "clip-1", Incident: inc, Camera: "door", State: journal.ClipRecording, File: "clip-1.mp4", Ordered: time.Now()}
	if err := j.AddClip(clip); err != nil {
		t.Fatal(err)
	}
	clip.State = journal.ClipReady
	if _, err := j.FinishClip(clip); err != nil {
		t.Fatal(err)
	}
	data, _ := json.Marshal(map[string]any{"clip": map[string]string{"id": "clip-1"}})
	evs, err := j.Append(time.Now(), true, []journal.Record{{Type: kiosk.EvClipReady, Incident: inc, Data: data}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ids := []string{evs[0].ID}
	for _, ev := range pending {
		ids = append(ids, ev.ID)
	}
	acked, err := o.AckEvents(ids)
	if err != nil || len(acked) != len(ids) {
		t.Fatalf("AckEvents = %d events, %v; want %d", len(acked), err, len(ids))
	}
	for _, in := range o.State().Incidents {
		if !in.Delivered {
			t.Errorf("incident %s not delivered after its events were acked", in.ID)
		}
	}
	if c, err := j.ClipByID("clip-1"); err != nil || c.State != journal.ClipAcked {
		t.Errorf("clip after its clip.ready was acked: %+v, %v; want acked", c, err)
	}
	if err := o.Ack([]string{"no-such-event"}); err != nil {
		t.Errorf("Ack of an unknown id: %v, want nil", err)
	}
}

// Without a controller (a benchmark), an ack only takes events out.
func TestOutboxWithoutController(t *testing.T) {
	_, j, _ := rig(t)
	o := New(j, nil, nil)
	evs, err := j.Append(time.Now(), true, []journal.Record{{Type: "bench.backlog", Incident: "inc-1"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := o.Ack([]string{evs[0].ID}); err != nil {
		t.Fatal(err)
	}
	if st := o.State(); len(st.Incidents) != 0 || st.Kiosk != "post-1" {
		t.Errorf("State without a controller: %+v", st)
	}
	left, err := o.Pending(0, 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range left {
		if ev.ID == evs[0].ID {
			t.Errorf("event %s still pending after its ack", ev.ID)
		}
	}
}
