package main

import (
	"sync"
	"time"
)

// ledger matches what the kiosks journaled with what the consumer stored.
// The two sides may report an alarm in either order: a link can publish an
// event before the commit hook that records it has run.
type ledger struct {
	mu       sync.Mutex
	alarms   map[string]*alarm    // alarm event id → its times
	received map[string]time.Time // any event id → first arrival at the consumer
	messages int                  // event messages the consumer got, repeats included
	alarmDup int                  // repeats of alarm events
	unseen   map[string]*alarm    // journaled alarms not yet received
}

type alarm struct {
	pressed, journaled, received time.Time
}

func newLedger() *ledger {
	return &ledger{alarms: map[string]*alarm{}, received: map[string]time.Time{}, unseen: map[string]*alarm{}}
}

// journaled records an alarm event the kiosk committed.
func (l *ledger) journaled(id string, pressed, at time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	a := &alarm{pressed: pressed, journaled: at}
	l.alarms[id] = a
	if got, ok := l.received[id]; ok {
		a.received = got
		return
	}
	l.unseen[id] = a
}

// store records one event message at the consumer; it reports whether the
// id was new.
func (l *ledger) store(id string, at time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.messages++
	a := l.alarms[id]
	if _, dup := l.received[id]; dup {
		if a != nil {
			l.alarmDup++
		}
		return false
	}
	l.received[id] = at
	if a != nil {
		a.received = at
		delete(l.unseen, id)
	}
	return true
}

// missing counts journaled alarms not yet received; with a non-zero
// before, only those journaled before it.
func (l *ledger) missing(before time.Time) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	if before.IsZero() {
		return len(l.unseen)
	}
	n := 0
	for _, a := range l.unseen {
		if a.journaled.Before(before) {
			n++
		}
	}
	return n
}

// tally is what the ledger says at the end of a run.
type tally struct {
	Alarms     int             // journaled by the kiosks
	Lost       int             // journaled, never received
	Messages   int             // event messages received, repeats included
	Duplicates int             // event messages received more than once, all types
	AlarmDups  int             // of which alarms
	Total      []time.Duration // press → consumer, per received alarm
	Steady     []time.Duration // the same, for alarms pressed over 1 s before the broker was killed
	Journal    []time.Duration // press → journaled (controller queue, step, fsync)
	Wire       []time.Duration // journaled → consumer (link, broker, consumer)
}

// tally sums up; alarms pressed over a second before killed (if not zero)
// also count as steady: they had time to arrive while the broker was up.
func (l *ledger) tally(killed time.Time) tally {
	l.mu.Lock()
	defer l.mu.Unlock()
	t := tally{Alarms: len(l.alarms), Lost: len(l.unseen), Messages: l.messages,
		Duplicates: l.messages - len(l.received), AlarmDups: l.alarmDup}
	for _, a := range l.alarms {
		if a.received.IsZero() {
			continue
		}
		t.Total = append(t.Total, a.received.Sub(a.pressed))
		if killed.IsZero() || a.pressed.Before(killed.Add(-time.Second)) {
			t.Steady = append(t.Steady, a.received.Sub(a.pressed))
		}
		t.Journal = append(t.Journal, a.journaled.Sub(a.pressed))
		t.Wire = append(t.Wire, max(0, a.received.Sub(a.journaled)))
	}
	return t
}
