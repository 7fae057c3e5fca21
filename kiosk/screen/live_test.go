package screen

import (
	"context"
	"net/http/httptest"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"kioskd/kiosk"
	"kioskd/kiosk/journal"
)

func stateWith(ids ...string) kiosk.State {
	s := kiosk.NewState()
	for _, id := range ids {
		s.Incidents[id] = &kiosk.Incident{ID: id}
	}
	return s
}

func commit(seq uint64) []journal.Event { return []journal.Event{{Seq: seq}} }

func TestHubFirstTheCurrentStateThenEachCommit(t *testing.T) {
	h := NewHub(stateWith("a"))
	sub := h.Subscribe()
	defer sub.Close()
	h.Publish(commit(1), stateWith("a", "b"))
	first, second := <-sub.C(), <-sub.C()
	if first.Events != nil || len(first.State.Incidents) != 1 {
		t.Errorf("first update = %+v, want the initial state without events", first)
	}
	if len(second.Events) != 1 || len(second.State.Incidents) != 2 {
		t.Errorf("second update = %+v, want commit 1 with two incidents", second)
	}
	late := h.Subscribe()
	defer late.Close()
	if got := <-late.C(); len(got.State.Incidents) != 2 || got.Events != nil {
		t.Errorf("late subscriber's first update = %+v, want the latest state", got)
	}
}

func TestHubSlowSubscriberDropsOldestAndKeepsNewest(t *testing.T) {
	h := NewHub(kiosk.NewState())
	h.Buffer = 4
	slow, fast := h.Subscribe(), h.Subscribe()
	defer slow.Close()
	<-fast.C()
	for seq := uint64(1); seq <= 10; seq++ {
		h.Publish(commit(seq), kiosk.NewState()) // never blocks, whoever is slow
		<-fast.C()
	}
	var seqs []uint64
	for len(slow.C()) > 0 {
		u := <-slow.C()
		seqs = append(seqs, u.Events[0].Seq)
	}
	if got, want := seqs, []uint64{7, 8, 9, 10}; !slices.Equal(got, want) {
		t.Errorf("slow subscriber kept %v, want %v", got, want)
	}
	if got, want := slow.Dropped(), uint64(7); got != want { // the initial state and commits 1..6
		t.Errorf("slow.Dropped() = %d, want %d", got, want)
	}
	if fast.Dropped() != 0 || h.Dropped() != 7 {
		t.Errorf("fast dropped %d, hub dropped %d; want 0 and 7", fast.Dropped(), h.Dropped())
	}
	fast.Close()
	fast.Close()
	if h.Subscribers() != 1 {
		t.Errorf("Subscribers() = %d after one Close, want 1", h.Subscribers())
	}
}

func TestHubCloseEndsSubscriptions(t *testing.T) {
	h := NewHub(kiosk.NewState())
	sub := h.Subscribe()
	<-sub.C()
	h.Close()
	if _, ok := <-sub.C(); ok {
		t.Error("subscription still open after the hub closed")
	}
	sub.Close()
	h.Publish(commit(1), kiosk.NewState()) // no panic, no effect
	if _, ok := <-h.Subscribe().C(); ok {
		t.Error("a closed hub handed out an open subscription")
	}
}

func TestServeSSE(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := NewHub(stateWith("a"))
		ctx, cancel := context.WithCancel(context.Background())
		w := httptest.NewRecorder()
		r := httptest.NewRequest("GET", "/events", nil).WithContext(ctx)
		done := make(chan struct{})
		go func() {
			defer close(done)
			h.ServeSSE(w, r, func(u Update) (string, any) {
				if _, quiet := u.State.Incidents["quiet"]; quiet {
					return "", nil
				}
				return "state", len(u.State.Incidents)
			})
		}()
		synctest.Wait()
		h.Publish(commit(7), stateWith("a", "b"))
		h.Publish(commit(8), stateWith("quiet"))
		time.Sleep(31 * time.Second)
		cancel()
		<-done
		if h.Subscribers() != 0 {
			t.Errorf("Subscribers() = %d after the client left, want 0", h.Subscribers())
		}
		want := "retry: 2000\n\n" +
			"event: state\ndata: 1\n\n" +
			"id: 7\nevent: state\ndata: 2\n\n" +
			": heartbeat\n\n: heartbeat\n\n"
		if got := w.Body.String(); got != want {
			t.Errorf("stream = %q, want %q", got, want)
		}
		if got := w.Header().Get("Content-Type"); got != "text/event-stream" {
			t.Errorf("Content-Type = %q, want text/event-stream", got)
		}
	})
}
