package outbox

import (
	"time"

	"kioskd/cloudlink/contract"
	"kioskd/kiosk"
	"kioskd/kiosk/journal"
)

// WireEvents turns journal events into the contract's envelope, passing err
// through.
func WireEvents(events []journal.Event, err error) ([]contract.Event, error) {
	if err != nil {
		return nil, err
	}
	out := make([]contract.Event, len(events))
	for i, ev := range events {
		out[i] = WireEvent(ev)
	}
	return out, nil
}

// WireEvent is one journal event as the platform receives it.
func WireEvent(ev journal.Event) contract.Event {
	return contract.Event{
		V: contract.SchemaVersion, ID: ev.ID, Kiosk: ev.Kiosk, BootEpoch: ev.BootEpoch,
		Seq: ev.Seq, Type: ev.Type, Incident: ev.Incident, Time: ev.Time,
		ClockSynced: ev.ClockSynced, Data: ev.Data,
	}
}

// State is the open-incident snapshot the link publishes, retained.
func (o *Outbox) State() contract.State {
	st := contract.State{
		V: contract.SchemaVersion, Kiosk: o.journal.KioskID(), BootEpoch: o.journal.BootEpoch(),
		Time: time.Now().UTC(), Incidents: []contract.Incident{},
	}
	if o.controller == nil {
		return st
	}
	for _, in := range o.controller.State().Sorted() {
		st.Incidents = append(st.Incidents, wireIncident(in))
	}
	return st
}

func wireIncident(in *kiosk.Incident) contract.Incident {
	return contract.Incident{
		ID: in.ID, Request: string(in.Request), Status: string(in.Status), Source: in.Source,
		Urgency: in.Urgency, Delivered: in.Delivered, Test: in.Test, Presses: in.Presses,
		RegisteredAt: in.RegisteredAt, CallbackDue: in.CallbackDue, CloseDue: in.CloseDue,
		Overdue: in.Overdue, Responder: in.Responder, Outcome: in.Outcome,
	}
}
