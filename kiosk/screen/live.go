package screen

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"kioskd/kiosk"
	"kioskd/kiosk/journal"
)

// Live updates for the screens.
//
// A Hub is fed from kiosk.Controller.OnCommit with every journaled step and
// fans it out to the screens' live connections (Server-Sent Events):
//
//	hub := screen.NewHub(state)
//	ctrl.OnCommit(hub.Publish)
//	mux.HandleFunc("GET /events", func(w http.ResponseWriter, r *http.Request) {
//		hub.ServeSSE(w, r, func(u screen.Update) (string, any) { return "state", view(u.State) })
//	})
//
// Each Update carries the whole state after the commit, so a subscriber that
// misses updates is never left stale: when its buffer is full the oldest
// waiting update is dropped (and counted) to make room for the newest one.
// Publish never blocks, so a slow browser never holds up the controller.

// Hub defaults.
const (
	DefaultLiveBuffer = 16
	DefaultHeartbeat  = 15 * time.Second
	sseRetry          = 2 * time.Second  // the browser's reconnect delay hint
	sseWriteTimeout   = 30 * time.Second // a client that takes longer to read is dropped
)

// Update is one journaled step: the events as stored (nil for the first
// update of a subscription) and the state after them. Both are shared
// between subscribers and must be treated as read-only.
type Update struct {
	Events []journal.Event
	State  kiosk.State
}

// Hub fans commits out to subscribers. Its zero value is not usable; use NewHub.
type Hub struct {
	Buffer    int           // per-subscriber buffer; set before use
	Heartbeat time.Duration // SSE comment interval; set before use

	mu      sync.Mutex
	last    Update
	subs    map[*Subscription]struct{}
	closed  bool
	dropped atomic.Uint64
}

// NewHub returns a hub whose latest state is initial.
func NewHub(initial kiosk.State) *Hub {
	return &Hub{Buffer: DefaultLiveBuffer, Heartbeat: DefaultHeartbeat,
		last: Update{State: initial}, subs: map[*Subscription]struct{}{}}
}

// Publish hands a commit to every subscriber without blocking. Its signature
// is kiosk.Committed, so it can be passed to Controller.OnCommit.
func (h *Hub) Publish(events []journal.Event, s kiosk.State) {
	u := Update{Events: events, State: s}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	h.last = u
	for sub := range h.subs {
		sub.offer(u)
	}
}

// Refresh sends the latest state again, without events, to every
// subscriber: for news from outside the journal, such as the link to the
// platform going down or coming back.
func (h *Hub) Refresh() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	for sub := range h.subs {
		sub.offer(Update{State: h.last.State})
	}
}

// Subscribe returns a subscription whose channel first holds the latest
// state, then every later commit. Close it when done.
func (h *Hub) Subscribe() *Subscription {
	sub := &Subscription{hub: h, c: make(chan Update, max(h.Buffer, 1))}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		close(sub.c)
		return sub
	}
	sub.c <- Update{State: h.last.State}
	h.subs[sub] = struct{}{}
	return sub
}

// Dropped counts updates dropped for slow subscribers, over all of them, ever.
func (h *Hub) Dropped() uint64 { return h.dropped.Load() }

// Subscribers counts the open subscriptions.
func (h *Hub) Subscribers() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs)
}

// Close ends every subscription (their channels close) and refuses new ones.
// Call it when the daemon stops, so live connections end with it.
func (h *Hub) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	h.closed = true
	for sub := range h.subs {
		close(sub.c)
	}
	clear(h.subs)
}

// Subscription is one subscriber's bounded queue of updates.
type Subscription struct {
	hub     *Hub
	c       chan Update
	dropped atomic.Uint64
}

// C delivers the updates; it is closed when the hub closes.
func (s *Subscription) C() <-chan Update { return s.c }

// Dropped counts the updates this subscriber missed because it was slow.
func (s *Subscription) Dropped() uint64 { return s.dropped.Load() }

// Close unsubscribes. It is safe to call more than once.
func (s *Subscription) Close() {
	h := s.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.subs[s]; ok {
		delete(h.subs, s)
		close(s.c)
	}
}

// offer queues u, dropping the oldest waiting update if the queue is full.
// Called with the hub's lock held: the hub is the only sender.
func (s *Subscription) offer(u Update) {
	select {
	case s.c <- u:
		return
	default:
	}
	select {
	case <-s.c:
		s.dropped.Add(1)
		s.hub.dropped.Add(1)
	default:
	}
	s.c <- u
}

// Render turns an update into one SSE event: its name and a value sent as
// JSON. A nil value sends nothing for this update.
type Render func(Update) (event string, data any)

// ServeSSE streams the hub's updates to one client as Server-Sent Events
// until the client leaves or the hub closes: a retry hint, then one event per
// update (the first is the current state), and a comment every Heartbeat so
// proxies and the browser know the stream is alive.
func (h *Hub) ServeSSE(w http.ResponseWriter, r *http.Request, render Render) {
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	sub := h.Subscribe()
	defer sub.Close()
	beat := time.NewTicker(h.Heartbeat)
	defer beat.Stop()
	if !sseWrite(w, rc, "retry: "+strconv.FormatInt(sseRetry.Milliseconds(), 10)+"\n\n") {
		return
	}
	for {
		var msg string
		select {
		case <-r.Context().Done():
			return
		case <-beat.C:
			msg = ": heartbeat\n\n"
		case u, ok := <-sub.C():
			if !ok {
				return
			}
			msg = sseEvent(u, render)
		}
		if msg != "" && !sseWrite(w, rc, msg) {
			return
		}
	}
}

// sseEvent formats one update; "" if render sends nothing.
func sseEvent(u Update, render Render) string {
	name, data := render(u)
	if data == nil {
		return ""
	}
	b, err := json.Marshal(data)
	if err != nil {
		return fmt.Sprintf("event: error\ndata: %q\n\n", err.Error())
	}
	msg := ""
	if n := len(u.Events); n > 0 {
		msg = "id: " + strconv.FormatUint(u.Events[n-1].Seq, 10) + "\n"
	}
	if name != "" {
		msg += "event: " + name + "\n"
	}
	return msg + "data: " + string(b) + "\n\n"
}

// sseWrite writes and flushes msg within sseWriteTimeout; false if the
// client is gone or too slow.
func sseWrite(w http.ResponseWriter, rc *http.ResponseController, msg string) bool {
	rc.SetWriteDeadline(time.Now().Add(sseWriteTimeout)) // not every writer supports it; then it just blocks
	if _, err := w.Write([]byte(msg)); err != nil {
		return false
	}
	return rc.Flush() == nil
}
