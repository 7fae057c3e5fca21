package kiosk

import "time"

// Input is anything that can change the state: a press, a platform command,
// a guard's action, the passing of time. Each is a plain value.
type Input interface{ isInput() }

// Press is a call button press or a touch on the screen. It fires on
// press-down; NewID names the incident if the press opens one.
type Press struct {
	Request Request
	Source  string
	Test    bool
	NewID   string
}

// LongPress is a press still held at the long-press threshold. On the police
// button it makes the open police incident urgent.
type LongPress struct {
	Request Request
	Source  string
}

// TamperOpened opens (or joins) a tamper alarm and raises the tamper fault.
type TamperOpened struct{ NewID string }

// TamperClosed clears the tamper fault; the alarm stays until staff close it.
type TamperClosed struct{}

// RaiseFault and ClearFault report other faults of the post (stuck buttons...).
type RaiseFault struct{ Key, Detail string }
type ClearFault struct{ Key string }

// Deliver says the platform has stored an event of this incident.
type Deliver struct{ Incident string }

// Accept: Responder will call the citizen back by CallbackBy (zero: by the deadline).
type Accept struct {
	Incident   string
	Responder  string
	CallbackBy time.Time
}

// SendMessage puts a line of text on the citizen screen.
type SendMessage struct{ Incident, From, Text string }

// HandleOnSite records that a guard settled the matter on site.
type HandleOnSite struct{ Incident, By, Outcome string }

// AddNote writes a guard's note on an open incident, for the record.
type AddNote struct{ Incident, By, Text string }

func (AddNote) isInput() {}

// Escalate passes the matter to the police station.
type Escalate struct{ Incident, By, Reason string }

// Cancel is the caller taking back a mistaken call.
type Cancel struct{ Incident, By string }

// Close ends the matter with an outcome.
type Close struct{ Incident, By, Outcome string }

// ClockStepped moves every open incident's times by Delta, so that when the
// kiosk clock is stepped to a synchronised wall clock each deadline keeps the
// time it had left.
type ClockStepped struct{ Delta time.Duration }

// CommandRefused records a platform command refused for its signature,
// address, counter or expiry (Code is the reply's error code). It changes no
// incident; the values are as the command claimed them.
type CommandRefused struct {
	Code, Message, Command, Name, AddressedTo string
	Counter                                   uint64
}

func (CommandRefused) isInput() {}

// AckRefused records a platform ack refused for its signature, address or
// boot, or unreadable (Code is the refusal's code). Nothing left the outbox;
// the values are as the ack claimed them.
type AckRefused struct {
	Code, Message, AddressedTo string
	BootEpoch                  uint64
	IDCount                    int
}

func (AckRefused) isInput() {}

// Tick lets Step notice missed deadlines.
type Tick struct{}

// Boot is the first input after a start; it journals the start itself.
type Boot struct {
	Version   string
	Recovered string   // a journal file set aside at open, or ""
	Salvage   *Salvage // what was rescued from it; set also for a missing file
}

func (Press) isInput()        {}
func (LongPress) isInput()    {}
func (TamperOpened) isInput() {}
func (TamperClosed) isInput() {}
func (RaiseFault) isInput()   {}
func (ClearFault) isInput()   {}
func (Deliver) isInput()      {}
func (Accept) isInput()       {}
func (SendMessage) isInput()  {}
func (HandleOnSite) isInput() {}
func (Escalate) isInput()     {}
func (Cancel) isInput()       {}
func (Close) isInput()        {}
func (Tick) isInput()         {}
func (ClockStepped) isInput() {}
func (Boot) isInput()         {}
