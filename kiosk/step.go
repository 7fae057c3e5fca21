package kiosk

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// Errors returned by Step for an input that changes nothing.
var (
	ErrNotFound = errors.New("no such open incident")
	ErrRejected = errors.New("not allowed in this state")
	ErrBadInput = errors.New("bad input")
)

// Event types written to the journal.
const (
	EvKioskStarted      = "kiosk.started"
	EvRegistered        = "incident.registered"
	EvPressedAgain      = "incident.pressed_again"
	EvUrgent            = "incident.urgent"
	EvDelivered         = "incident.delivered"
	EvAccepted          = "incident.accepted"
	EvMessage           = "incident.message"
	EvHandledOnSite     = "incident.handled_on_site"
	EvEscalated         = "incident.escalated"
	EvCancelled         = "incident.cancelled"
	EvClosed            = "incident.closed"
	EvNoteAdded         = "incident.note_added"
	EvOverdue           = "incident.overdue"
	EvFaultRaised       = "fault.raised"
	EvFaultCleared      = "fault.cleared"
	EvJournalRecovered  = "journal.recovered"
	EvClockStepped      = "clock.stepped"
	EvCommandRefused    = "security.command_refused"
	EvAckRefused        = "security.ack_refused"
	faultTamper         = "tamper"
	faultJournalAside   = "journal_recovered"
	maxMessageTextBytes = 600 // MessageLimit.Bytes
)

// EventTypes lists every event type, for the contract's drift test.
var EventTypes = []string{
	EvKioskStarted, EvRegistered, EvPressedAgain, EvUrgent, EvDelivered,
	EvAccepted, EvMessage, EvNoteAdded, EvHandledOnSite, EvEscalated, EvCancelled,
	EvClosed, EvOverdue, EvFaultRaised, EvFaultCleared, EvJournalRecovered, EvRecoveryAcknowledged,
	EvClockStepped, EvCommandRefused, EvAckRefused,
	EvClipRecording, EvClipReady, EvClipFailed, EvClipUploadProgress, EvClipUploaded,
	EvClipUploadFailed, EvClipEvicted, EvCameraState,
	EvSelfTestPassed, EvSelfTestFailed, EvUpdateDownload, EvUpdateDeferred, EvUpdateVerified,
	EvUpdateInstalled, EvUpdateCommitted, EvUpdateRejected, EvUpdateRolledBack,
}

// Outcomes of a matter a guard settles on site (HandleOnSite.Outcome).
const (
	OutcomeMediated    = "mediated"     // 当场调解: a dispute settled
	OutcomeAdviceGiven = "advice_given" // 当场解答: the question answered
	OutcomeReferred    = "referred"     // 引导至相关部门: sent to the right office
	OutcomeFalseAlarm  = "false_alarm"  // 误报: nobody needed help
)

// Outcomes lists the on-site outcomes, in the order a guard is offered them.
var Outcomes = []string{OutcomeMediated, OutcomeAdviceGiven, OutcomeReferred, OutcomeFalseAlarm}

// Rules are the deadlines Step enforces.
type Rules struct {
	CallbackWithin time.Duration // default 5 minutes
	CloseWithin    time.Duration // default 24 hours
}

// Record is one event Step wants journaled. Data is marshalled to JSON.
type Record struct {
	Type     string
	Incident string
	Data     any
	Urgent   bool // a new or more urgent call: it overtakes a waiting backlog
	// Telemetry may be dropped when space is short (camera state, upload
	// progress); never set with Urgent.
	Telemetry bool
}

// urgentTypes are the events that mean "someone needs help now".
var urgentTypes = []string{EvRegistered, EvPressedAgain, EvUrgent}

// Effects is what a Step asks of the controller: journal these records and
// these incident snapshots (closed ones included) in one transaction.
type Effects struct {
	Records   []Record
	Snapshots []*Incident
	Recovery  *Recovery // the journal recovery condition as it is after the step, if it changed
}

// Empty reports whether the step changed nothing.
func (e Effects) Empty() bool { return len(e.Records) == 0 && len(e.Snapshots) == 0 }

// step carries one Step's working copy and its effects.
type step struct {
	rules Rules
	s     State
	now   time.Time
	fx    Effects
}

// Step applies one input. It never mutates s; on error the state is unchanged
// and there are no effects.
func (r Rules) Step(s State, in Input, now time.Time) (State, Effects, error) {
	st := &step{rules: r, s: shallowCopy(s), now: now}
	if err := st.apply(in); err != nil {
		return s, Effects{}, err
	}
	return st.s, st.fx, nil
}

func shallowCopy(s State) State {
	c := State{Incidents: make(map[string]*Incident, len(s.Incidents)), Faults: make(map[string]Fault, len(s.Faults)), Recovery: s.Recovery}
	for k, v := range s.Incidents {
		c.Incidents[k] = v
	}
	for k, v := range s.Faults {
		c.Faults[k] = v
	}
	return c
}

func (st *step) apply(in Input) error {
	switch in := in.(type) {
	case Press:
		return st.press(in.Request, in.Source, in.Test, in.NewID, Normal)
	case LongPress:
		return st.longPress(in)
	case TamperOpened:
		st.raiseFault(faultTamper, "tamper switch opened")
		return st.press(Tamper, "tamper", false, in.NewID, Urgent)
	case TamperClosed:
		st.clearFault(faultTamper)
	case RaiseFault:
		st.raiseFault(in.Key, in.Detail)
	case ClearFault:
		st.clearFault(in.Key)
	case Deliver:
		st.deliver(in.Incident)
	case Accept:
		return st.accept(in)
	case SendMessage:
		return st.message(in)
	case HandleOnSite:
		return st.handleOnSite(in)
	case Escalate:
		return st.escalate(in)
	case AddNote:
		return st.addNote(in)
	case Cancel:
		return st.cancel(in)
	case Close:
		return st.close(in)
	case Tick:
		st.tick()
	case ClockStepped:
		st.clockStepped(in.Delta)
	case Boot:
		st.boot(in)
	case ClipEvent:
		return st.clipEvent(in)
	case CameraChanged:
		return st.cameraChanged(in)
	case SelfTestDone:
		st.selfTestDone(in)
	case UpdateNews:
		return st.updateNews(in)
	case AcknowledgeRecovery:
		return st.acknowledgeRecovery(in)
	case CommandRefused:
		cut := RefusedLimit.Cut // what an outsider sent is kept, not all of it
		st.fx.Records = append(st.fx.Records, Record{Type: EvCommandRefused, Data: map[string]any{
			"code": cut(in.Code), "message": cut(in.Message), "command": cut(in.Command), "name": cut(in.Name),
			"counter": in.Counter, "addressed_to": cut(in.AddressedTo),
		}})
	case AckRefused:
		st.fx.Records = append(st.fx.Records, Record{Type: EvAckRefused, Data: map[string]any{
			"code": in.Code, "message": in.Message, "addressed_to": in.AddressedTo,
			"boot_epoch": in.BootEpoch, "id_count": in.IDCount,
		}})
	default:
		return fmt.Errorf("%w: unknown input %T", ErrBadInput, in)
	}
	return nil
}

// edit returns a private copy of an open incident, to change and record.
func (st *step) edit(id string) (*Incident, error) {
	in, ok := st.s.Incidents[id]
	if !ok {
		return nil, fmt.Errorf("incident %q: %w", id, ErrNotFound)
	}
	c := in.clone()
	st.s.Incidents[id] = c
	return c, nil
}

// record journals an event of in, carrying the incident as it is after it.
func (st *step) record(in *Incident, typ string, data map[string]any) {
	in.UpdatedAt = st.now
	if data == nil {
		data = map[string]any{}
	}
	data["incident"] = in.clone()
	urgent := slices.Contains(urgentTypes, typ) && !in.Test
	st.fx.Records = append(st.fx.Records, Record{Type: typ, Incident: in.ID, Data: data, Urgent: urgent})
	for i, s := range st.fx.Snapshots {
		if s.ID == in.ID {
			st.fx.Snapshots[i] = in
			return
		}
	}
	st.fx.Snapshots = append(st.fx.Snapshots, in)
}

// joinable finds the open incident a repeat press of this request joins.
func (st *step) joinable(req Request, test bool) *Incident {
	var found *Incident
	for _, in := range st.s.Incidents {
		if in.Request != req || in.Test != test || in.Status == Cancelled || !in.Open() {
			continue
		}
		if found == nil || in.RegisteredAt.Before(found.RegisteredAt) {
			found = in
		}
	}
	return found
}

func (st *step) press(req Request, source string, test bool, newID string, urgency int) error {
	if !req.Valid() {
		return fmt.Errorf("%w: unknown request %q", ErrBadInput, req)
	}
	if open := st.joinable(req, test); open != nil {
		in, _ := st.edit(open.ID)
		in.Presses++
		in.raise(in.Urgency + 1)
		in.raise(urgency)
		st.record(in, EvPressedAgain, map[string]any{"source": source, "presses": in.Presses})
		return nil
	}
	if newID == "" {
		return fmt.Errorf("%w: press without an incident id", ErrBadInput)
	}
	in := &Incident{
		ID: newID, Request: req, Status: Registered, Urgency: urgency, Test: test,
		Source: source, Presses: 1, RegisteredAt: st.now,
		CallbackDue: st.now.Add(st.rules.CallbackWithin),
		CloseDue:    st.now.Add(st.rules.CloseWithin),
	}
	st.s.Incidents[newID] = in
	st.record(in, EvRegistered, map[string]any{"source": source})
	return nil
}

func (st *step) longPress(lp LongPress) error {
	if lp.Request != Police {
		return nil // only the police button has an urgent long press
	}
	open := st.joinable(Police, false)
	if open == nil || open.Urgency == Urgent {
		return nil
	}
	in, _ := st.edit(open.ID)
	in.raise(Urgent)
	st.record(in, EvUrgent, map[string]any{"source": lp.Source, "reason": "long_press"})
	return nil
}

func (st *step) deliver(id string) {
	open, ok := st.s.Incidents[id]
	if !ok || open.Delivered {
		return // closed already, or told twice: nothing to say
	}
	in, _ := st.edit(id)
	in.Delivered = true
	if in.Status == Registered {
		in.Status = Delivered
	}
	st.record(in, EvDelivered, nil)
}

// sortedIDs lists the open incidents in one order for the journal, whatever the map does.
func (st *step) sortedIDs() []string {
	ids := make([]string, 0, len(st.s.Incidents))
	for id := range st.s.Incidents {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

func (st *step) tick() {
	for _, id := range st.sortedIDs() {
		open := st.s.Incidents[id]
		if st.due(open, CallbackDeadline) {
			st.markOverdue(id, CallbackDeadline)
		}
		if st.due(open, CloseDeadline) {
			st.markOverdue(id, CloseDeadline)
		}
	}
}

func (st *step) due(in *Incident, deadline string) bool {
	if in.overdue(deadline) {
		return false
	}
	if deadline == CallbackDeadline {
		return !in.CallbackMet && in.Status != Cancelled && !st.now.Before(in.CallbackDue)
	}
	return !st.now.Before(in.CloseDue)
}

func (st *step) markOverdue(id, deadline string) {
	in, _ := st.edit(id)
	in.Overdue = append(in.Overdue, deadline)
	in.raise(in.Urgency + 1)
	st.record(in, EvOverdue, map[string]any{"deadline": deadline})
}

func (st *step) raiseFault(key, detail string) {
	if _, ok := st.s.Faults[key]; ok {
		return // one fault, not a thousand
	}
	st.s.Faults[key] = Fault{Key: key, Detail: detail, Since: st.now}
	st.fx.Records = append(st.fx.Records, Record{Type: EvFaultRaised, Data: map[string]any{"fault": key, "detail": detail}})
}

func (st *step) clearFault(key string) {
	if _, ok := st.s.Faults[key]; !ok {
		return
	}
	delete(st.s.Faults, key)
	st.fx.Records = append(st.fx.Records, Record{Type: EvFaultCleared, Data: map[string]any{"fault": key}})
}

func (st *step) boot(b Boot) {
	st.fx.Records = append(st.fx.Records, Record{Type: EvKioskStarted, Data: map[string]any{"version": b.Version, "open_incidents": len(st.s.Incidents)}})
	if b.Recovered != "" || b.Salvage != nil {
		st.recovered(b)
	}
}

// clockStepped shifts every open incident's times and each fault's start by
// d, in one event: what was due in three minutes is still due in three.
func (st *step) clockStepped(d time.Duration) {
	if d == 0 {
		return
	}
	for _, id := range st.sortedIDs() {
		in, _ := st.edit(id)
		in.RegisteredAt = in.RegisteredAt.Add(d)
		in.CallbackDue = in.CallbackDue.Add(d)
		in.CloseDue = in.CloseDue.Add(d)
		if !in.CallbackBy.IsZero() {
			in.CallbackBy = in.CallbackBy.Add(d)
		}
		in.UpdatedAt = st.now.Add(d)
		st.fx.Snapshots = append(st.fx.Snapshots, in)
	}
	for k, f := range st.s.Faults {
		f.Since = f.Since.Add(d)
		st.s.Faults[k] = f
	}
	st.fx.Records = append(st.fx.Records, Record{Type: EvClockStepped, Data: map[string]any{
		"delta_ms": d.Milliseconds(), "from": st.now, "to": st.now.Add(d), "incidents": len(st.s.Incidents),
	}})
}
