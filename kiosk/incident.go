// Package kiosk decides what happens to an incident. Its heart is Step, a pure
// function from (state, input, now) to (state, effects); the Controller is the
// one goroutine that owns the state, journals every effect before anyone is
// told, and hands out copies of the state to readers.
package kiosk

import (
	"cmp"
	"slices"
	"time"
)

// Request is what the citizen asked for.
type Request string

const (
	Police    Request = "police"    // 找警察
	Community Request = "community" // 找社区
	Lawyer    Request = "lawyer"    // 找律师
	Market    Request = "market"    // 市场监管
	Labour    Request = "labour"    // 劳动监察
	Tamper    Request = "tamper"    // the post's tamper switch: an alarm, not a citizen's call
)

// Requests lists the requests a citizen can make, in screen order.
var Requests = []Request{Police, Community, Lawyer, Market, Labour}

// Valid reports whether r is a known request.
func (r Request) Valid() bool {
	return r == Tamper || slices.Contains(Requests, r)
}

// Status is where an incident stands.
type Status string

const (
	Registered    Status = "registered"      // journaled on the box
	Delivered     Status = "delivered"       // the platform acknowledged it
	Accepted      Status = "accepted"        // someone will call back
	HandledOnSite Status = "handled_on_site" // a guard settled it on site
	Escalated     Status = "escalated"       // passed to the police station
	Cancelled     Status = "cancelled"       // the caller cancelled; staff still close it
	Closed        Status = "closed"
)

// Urgency levels. A repeat press or a missed deadline raises urgency by one;
// a long press on the police button or a tamper alarm makes it Urgent.
const (
	Normal = 0
	Raised = 1
	Urgent = 2
)

// Deadline names, used in overdue events.
const (
	CallbackDeadline = "callback"
	CloseDeadline    = "close"
)

// Incident is one matter, from the first press to its closure.
type Incident struct {
	ID           string    `json:"id"`
	Request      Request   `json:"request"`
	Status       Status    `json:"status"`
	Urgency      int       `json:"urgency"`
	Test         bool      `json:"test,omitempty"`
	Source       string    `json:"source"` // "button:police", "screen", "tamper", ...
	Presses      int       `json:"presses"`
	Delivered    bool      `json:"delivered"`
	RegisteredAt time.Time `json:"registered_at"`
	CallbackDue  time.Time `json:"callback_due"`
	CloseDue     time.Time `json:"close_due"`
	CallbackMet  bool      `json:"callback_met"`
	Overdue      []string  `json:"overdue,omitempty"`
	Responder    string    `json:"responder,omitempty"`
	CallbackBy   time.Time `json:"callback_by,omitzero"`
	Outcome      string    `json:"outcome,omitempty"`
	Messages     []Message `json:"messages,omitempty"`
	UpdatedAt    time.Time `json:"updated_at"`
}

// Message is a line sent to the citizen screen by the station or a guard.
type Message struct {
	From string    `json:"from"`
	Text string    `json:"text"`
	At   time.Time `json:"at"`
}

// Open reports whether the incident still needs someone.
func (in *Incident) Open() bool { return in.Status != Closed }

func (in *Incident) overdue(deadline string) bool { return slices.Contains(in.Overdue, deadline) }

func (in *Incident) raise(level int) {
	in.Urgency = min(max(in.Urgency, level), Urgent)
}

// Fault is a condition of the post that staff must see: a stuck button, an
// open tamper switch, a journal set aside at boot.
type Fault struct {
	Key    string    `json:"key"` // "stuck:police", "tamper", "journal_recovered"
	Detail string    `json:"detail,omitempty"`
	Since  time.Time `json:"since"`
}

// State is everything the controller owns: the open incidents, the active
// faults and a journal recovery waiting to be acknowledged (see recovery.go).
type State struct {
	Incidents map[string]*Incident `json:"incidents"`
	Faults    map[string]Fault     `json:"faults"`
	Recovery  *Recovery            `json:"recovery,omitempty"` // never changed in place: replaced
}

// Degraded reports whether the kiosk works on after a journal recovery that
// no person has acknowledged yet.
func (s State) Degraded() bool { return s.Recovery != nil }

// NewState returns an empty state.
func NewState() State {
	return State{Incidents: map[string]*Incident{}, Faults: map[string]Fault{}}
}

// Clone returns a deep copy, so a reader can never see a half-made change.
func (s State) Clone() State {
	c := NewState()
	for id, in := range s.Incidents {
		c.Incidents[id] = in.clone()
	}
	for k, f := range s.Faults {
		c.Faults[k] = f
	}
	c.Recovery = s.Recovery
	return c
}

func (in *Incident) clone() *Incident {
	c := *in
	c.Overdue = append([]string(nil), in.Overdue...)
	c.Messages = append([]Message(nil), in.Messages...)
	return &c
}

// Sorted lists the open incidents most urgent first, then oldest first.
func (s State) Sorted() []*Incident {
	list := make([]*Incident, 0, len(s.Incidents))
	for _, in := range s.Incidents {
		list = append(list, in)
	}
	slices.SortFunc(list, func(a, b *Incident) int {
		if c := cmp.Compare(b.Urgency, a.Urgency); c != 0 {
			return c
		}
		if c := a.RegisteredAt.Compare(b.RegisteredAt); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return list
}
