package kiosk

import (
	"fmt"
	"slices"
	"strings"
)

// The actions of staff (guard or station) and of the caller. Each checks
// that the incident's state allows it, then records one event.

func (st *step) accept(a Accept) error {
	if strings.TrimSpace(a.Responder) == "" {
		return fmt.Errorf("%w: accept needs a responder", ErrBadInput)
	}
	in, err := st.editIn(a.Incident, Registered, Delivered, Accepted)
	if err != nil {
		return err
	}
	in.Status = Accepted
	in.Responder = a.Responder
	in.CallbackBy = a.CallbackBy
	if in.CallbackBy.IsZero() {
		in.CallbackBy = in.CallbackDue
	}
	in.CallbackMet = true
	st.record(in, EvAccepted, map[string]any{"responder": a.Responder, "callback_by": in.CallbackBy})
	return nil
}

func (st *step) message(m SendMessage) error {
	text := strings.TrimSpace(m.Text)
	if text == "" || len(text) > maxMessageTextBytes {
		return fmt.Errorf("%w: message text must be 1 to %d bytes", ErrBadInput, maxMessageTextBytes)
	}
	in, err := st.editIn(m.Incident)
	if err != nil {
		return err
	}
	msg := Message{From: m.From, Text: text, At: st.now}
	in.Messages = append(in.Messages, msg)
	st.record(in, EvMessage, map[string]any{"from": m.From, "text": text})
	return nil
}

func (st *step) handleOnSite(h HandleOnSite) error {
	if err := needBy(h.By, h.Outcome, "outcome"); err != nil {
		return err
	}
	in, err := st.editIn(h.Incident, Registered, Delivered, Accepted)
	if err != nil {
		return err
	}
	if !slices.Contains(Outcomes, h.Outcome) {
		return fmt.Errorf("%w: outcome %q is not one of %s", ErrBadInput, h.Outcome, strings.Join(Outcomes, ", "))
	}
	in.Status = HandledOnSite
	in.Outcome = h.Outcome
	in.CallbackMet = true
	st.record(in, EvHandledOnSite, map[string]any{"by": h.By, "outcome": h.Outcome})
	return nil
}

func (st *step) escalate(e Escalate) error {
	if err := needBy(e.By, e.Reason, "reason"); err != nil {
		return err
	}
	in, err := st.editIn(e.Incident, Registered, Delivered, Accepted, HandledOnSite)
	if err != nil {
		return err
	}
	in.Status = Escalated
	in.CallbackMet = true
	st.record(in, EvEscalated, map[string]any{"by": e.By, "reason": e.Reason})
	return nil
}

func (st *step) cancel(c Cancel) error {
	in, err := st.editIn(c.Incident, Registered, Delivered, Accepted)
	if err != nil {
		return err
	}
	in.Status = Cancelled
	st.record(in, EvCancelled, map[string]any{"by": c.By})
	return nil
}

func (st *step) close(c Close) error {
	if err := needBy(c.By, c.Outcome, "outcome"); err != nil {
		return err
	}
	in, err := st.editIn(c.Incident)
	if err != nil {
		return err
	}
	in.Status = Closed
	in.Outcome = c.Outcome
	st.record(in, EvClosed, map[string]any{"by": c.By, "outcome": c.Outcome})
	delete(st.s.Incidents, in.ID) // kept in the journal, gone from the live state
	return nil
}

// editIn is edit that also checks the incident is in one of allowed (any open
// status when none is given).
func (st *step) editIn(id string, allowed ...Status) (*Incident, error) {
	cur, ok := st.s.Incidents[id]
	if !ok {
		return nil, fmt.Errorf("incident %q: %w", id, ErrNotFound)
	}
	if len(allowed) > 0 && !slices.Contains(allowed, cur.Status) {
		return nil, fmt.Errorf("incident %q is %s: %w", id, cur.Status, ErrRejected)
	}
	return st.edit(id)
}

func needBy(by, what, name string) error {
	if strings.TrimSpace(by) == "" {
		return fmt.Errorf("%w: say who did it (by)", ErrBadInput)
	}
	if strings.TrimSpace(what) == "" {
		return fmt.Errorf("%w: %s is required", ErrBadInput, name)
	}
	return nil
}
