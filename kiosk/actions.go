package kiosk

import (
	"fmt"
	"slices"
	"strings"
)

// The actions of staff (guard or station) and of the caller. Each checks
// that the incident's state allows it, then records one event.

func (st *step) accept(a Accept) error {
	if err := NameLimit.Check("responder", a.Responder, true); err != nil {
		return err
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
	if err := checkTexts(NameLimit.Check("from", m.From, true), MessageLimit.Check("text", m.Text, true)); err != nil {
		return err
	}
	text := strings.TrimSpace(m.Text)
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
	if err := needBy(h.By, OutcomeLimit.Check("outcome", h.Outcome, true)); err != nil {
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
	if err := needBy(e.By, ReasonLimit.Check("reason", e.Reason, true)); err != nil {
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
	if err := NameLimit.Check("by", c.By, false); err != nil {
		return err
	}
	in, err := st.editIn(c.Incident, Registered, Delivered, Accepted)
	if err != nil {
		return err
	}
	in.Status = Cancelled
	st.record(in, EvCancelled, map[string]any{"by": c.By})
	return nil
}

func (st *step) close(c Close) error {
	if err := needBy(c.By, OutcomeLimit.Check("outcome", c.Outcome, true)); err != nil {
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

// needBy checks who did it (by), then returns textErr, the check of the
// action's own text.
func needBy(by string, textErr error) error {
	if strings.TrimSpace(by) == "" {
		return fmt.Errorf("%w: say who did it (by)", ErrBadInput)
	}
	if err := NameLimit.Check("by", by, true); err != nil {
		return err
	}
	return textErr
}
