package contract

// EventType documents one value of Event.Type.
type EventType struct {
	Name string
	Doc  string
	// Incident: the event concerns one incident. Event.Incident names it and
	// data carries its full snapshot, as it is after the event, under "incident".
	Incident bool
	// Data names the type-specific fields of data, besides "incident". Every
	// one is always present.
	Data []string
}

// EventTypes lists every event type a kiosk may ship, in the order of the
// incident's life. New types may be added within v1: a platform must store
// and ack an event whose type it does not know.
var EventTypes = []EventType{
	{Name: "kiosk.started", Doc: "kioskd started; a new boot epoch begins",
		Data: []string{"version", "open_incidents"}},
	{Name: "incident.registered", Doc: "a press or a touch opened an incident (source: button:NAME, screen or tamper)",
		Incident: true, Data: []string{"source"}},
	{Name: "incident.pressed_again", Doc: "a repeat press joined the open incident of its type and raised its urgency",
		Incident: true, Data: []string{"source", "presses"}},
	{Name: "incident.urgent", Doc: "a long press made the open police incident urgent",
		Incident: true, Data: []string{"source", "reason"}},
	{Name: "incident.delivered", Doc: "the platform acked an event of this incident",
		Incident: true},
	{Name: "incident.accepted", Doc: "someone will call the citizen back by callback_by",
		Incident: true, Data: []string{"responder", "callback_by"}},
	{Name: "incident.message", Doc: "a line of text was put on the citizen screen",
		Incident: true, Data: []string{"from", "text"}},
	{Name: "incident.handled_on_site", Doc: "a guard settled the matter on site",
		Incident: true, Data: []string{"by", "outcome"}},
	{Name: "incident.escalated", Doc: "the matter was passed to the police station",
		Incident: true, Data: []string{"by", "reason"}},
	{Name: "incident.cancelled", Doc: "the caller took the call back; staff still close it",
		Incident: true, Data: []string{"by"}},
	{Name: "incident.closed", Doc: "the matter is closed with an outcome and leaves the state",
		Incident: true, Data: []string{"by", "outcome"}},
	{Name: "incident.overdue", Doc: "a deadline (callback or close) passed unmet; urgency was raised",
		Incident: true, Data: []string{"deadline"}},
	{Name: "fault.raised", Doc: "a fault of the post began (tamper, stuck:BUTTON, journal_recovered, ...)",
		Data: []string{"fault", "detail"}},
	{Name: "fault.cleared", Doc: "a fault of the post ended",
		Data: []string{"fault"}},
	{Name: "journal.recovered", Doc: "the journal could not be opened and was set aside; seq and boot_epoch start again from 1",
		Data: []string{"set_aside"}},
	{Name: "clock.stepped", Doc: "the kiosk clock was stepped to a synchronised clock; open incidents' times moved by delta_ms",
		Data: []string{"delta_ms", "from", "to", "incidents"}},
}
