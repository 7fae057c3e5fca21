package contract

import (
	"strconv"
	"testing"
	"time"
)

// snapshot mirrors the JSON of kiosk.Incident, which incident.* events carry
// under data.incident. contract may not import kiosk; TestAsyncAPISchemas
// checks this mirror against the EventIncident schema, and a test that may
// import both (in firmware) should check kiosk.Incident against it too.
type snapshot struct {
	ID           string            `json:"id"`
	Request      string            `json:"request"`
	Status       string            `json:"status"`
	Urgency      int               `json:"urgency"`
	Test         bool              `json:"test,omitempty"`
	Source       string            `json:"source"`
	Presses      int               `json:"presses"`
	Delivered    bool              `json:"delivered"`
	RegisteredAt time.Time         `json:"registered_at"`
	CallbackDue  time.Time         `json:"callback_due"`
	CloseDue     time.Time         `json:"close_due"`
	CallbackMet  bool              `json:"callback_met"`
	Overdue      []string          `json:"overdue,omitempty"`
	Responder    string            `json:"responder,omitempty"`
	CallbackBy   time.Time         `json:"callback_by,omitzero"`
	Outcome      string            `json:"outcome,omitempty"`
	Messages     []snapshotMessage `json:"messages,omitempty"`
	UpdatedAt    time.Time         `json:"updated_at"`
}

type snapshotMessage struct {
	From string    `json:"from"`
	Text string    `json:"text"`
	At   time.Time `json:"at"`
}

// eventStep is one event of the examples' story. edit, if set, makes it an
// incident event: it changes the incident before the snapshot is taken.
type eventStep struct {
	typ  string
	sec  int
	data map[string]any
	edit func(*snapshot)
	// incident names the incident of an event that does not carry its
	// snapshot (clip.*).
	incident string
}

// eventExamples builds one example per event type, as the kiosk would ship
// them for one police call, one cancelled call and a stuck button.
func eventExamples(t *testing.T) []example {
	call := snapshot{
		ID: exIncID, Request: "police", Status: "registered", Source: "button:police", Presses: 1,
		RegisteredAt: exT0, CallbackDue: at(300), CloseDue: at(86400),
	}
	cancelled := snapshot{
		ID: "inc-1c9e5d7a3b2f4068", Request: "lawyer", Status: "registered", Source: "screen", Presses: 1,
		RegisteredAt: at(6000), CallbackDue: at(6300), CloseDue: at(6000 + 86400),
	}
	var out []example
	seq := uint64(41)
	add := func(in *snapshot, steps ...eventStep) {
		for _, s := range steps {
			ev := Event{V: SchemaVersion, ID: exEventID(seq), Kiosk: exKiosk, BootEpoch: exEpoch, Seq: seq,
				Type: s.typ, Time: at(s.sec), ClockSynced: true}
			if s.data == nil {
				s.data = map[string]any{}
			}
			if s.edit != nil {
				s.edit(in)
				in.UpdatedAt = ev.Time
				snap := *in
				s.data["incident"] = snap
				ev.Incident = in.ID
			}
			if s.incident != "" {
				ev.Incident = s.incident
			}
			ev.Data = mustJSON(t, s.data)
			out = append(out, example{Name: s.typ, Summary: "seq " + strconv.FormatUint(seq, 10), Payload: mustJSON(t, ev)})
			seq++
		}
	}
	add(nil, eventStep{typ: "kiosk.started", sec: -600, data: map[string]any{"version": exVersion, "open_incidents": 0}})
	add(&call, callSteps()...)
	add(&cancelled, cancelSteps()...)
	add(nil,
		eventStep{typ: "fault.raised", sec: 7000, data: map[string]any{"fault": "stuck:labour", "detail": "button labour held for 30s; ignored until released"}},
		eventStep{typ: "fault.cleared", sec: 7042, data: map[string]any{"fault": "stuck:labour"}},
	)
	// The clock had drifted 42.5 s behind when NTP caught up: one event, no incident.
	add(nil, clipSteps()...)
	add(nil, eventStep{typ: "clock.stepped", sec: 7100, data: map[string]any{
		"delta_ms": 42500, "from": at(7100), "to": at(7100).Add(42500 * time.Millisecond), "incidents": 0}})
	// A command signed with a retired key: refused, nothing changed.
	add(nil, eventStep{typ: "security.command_refused", sec: 7200, data: map[string]any{
		"code": ErrBadSignature, "message": "signature does not verify under any of the 1 configured keys",
		"command": "c-20250314-0099", "name": CmdClose, "counter": 1741944413000000000, "addressed_to": exKiosk}})
	add(nil, upkeepSteps()...) // self-tests and an update; see update_test.go
	// An ack nobody signed, from a client allowed to publish on the ack topic.
	add(nil, eventStep{typ: "security.ack_refused", sec: 9000, data: map[string]any{
		"code": AckUnsigned, "message": "a bare ack without a signature; sign it (SignedAck)",
		"addressed_to": "", "boot_epoch": 0, "id_count": 1}})
	// A salvaged journal continues above its high-water mark: kiosk.started
	// is seq 20001 of boot 8, this the next.
	rec := Event{V: SchemaVersion, ID: exEventID(2), Kiosk: exKiosk, BootEpoch: 8, Seq: 20002, Type: "journal.recovered",
		Time: at(90000), Data: mustJSON(t, map[string]any{"set_aside": exSetAside, "salvage": Salvage{
			Events: 412, Requeued: 3, OpenIncidents: 1, SeqFrom: 20001, BootEpoch: 8,
			Reason: "journal: corrupt file: event 377: checksum mismatch"}})}
	out = append(out, example{Name: rec.Type, Summary: "after a salvage, seq continues above the high-water mark", Payload: mustJSON(t, rec)})
	ack := Event{V: SchemaVersion, ID: exEventID(9), Kiosk: exKiosk, BootEpoch: 8, Seq: 20009, Type: "journal.recovery_acknowledged",
		Time: at(91000), ClockSynced: true, Data: mustJSON(t, map[string]any{"by": "王警官",
			"note": "journal.db damaged by a power cut; the salvaged alarms arrived", "set_aside": exSetAside, "since": at(90000)})}
	out = append(out, example{Name: ack.Type, Summary: "a person acknowledged the recovery", Payload: mustJSON(t, ack)})
	return out
}

// exSetAside is where the examples' damaged journal was kept.
const exSetAside = "/var/lib/kioskd/journal.db.broken-20250315T112653Z"

func callSteps() []eventStep {
	none := func(*snapshot) {}
	return []eventStep{
		{typ: "incident.registered", sec: 0, data: map[string]any{"source": "button:police"}, edit: none},
		{typ: "incident.delivered", sec: 1, edit: func(s *snapshot) { s.Delivered, s.Status = true, "delivered" }},
		{typ: "incident.pressed_again", sec: 20, data: map[string]any{"source": "button:police", "presses": 2},
			edit: func(s *snapshot) { s.Presses, s.Urgency = 2, 1 }},
		{typ: "incident.urgent", sec: 23, data: map[string]any{"source": "button:police", "reason": "long_press"},
			edit: func(s *snapshot) { s.Urgency = 2 }},
		{typ: "incident.accepted", sec: 60, data: map[string]any{"responder": "王警官", "callback_by": at(240)},
			edit: func(s *snapshot) {
				s.Status, s.Responder, s.CallbackBy, s.CallbackMet = "accepted", "王警官", at(240), true
			}},
		{typ: "incident.message", sec: 75, data: map[string]any{"from": "城东派出所", "text": "民警正在赶来，请稍候。"},
			edit: func(s *snapshot) {
				s.Messages = append(s.Messages, snapshotMessage{From: "城东派出所", Text: "民警正在赶来，请稍候。", At: at(75)})
			}},
		{typ: "incident.note_added", sec: 840, data: map[string]any{"by": "李保安", "text": "已到现场，双方在店门口争执"},
			edit: none},
		{typ: "incident.handled_on_site", sec: 900, data: map[string]any{"by": "李保安", "outcome": "mediated"},
			edit: func(s *snapshot) { s.Status, s.Outcome = "handled_on_site", "mediated" }},
		{typ: "incident.escalated", sec: 1000, data: map[string]any{"by": "李保安", "reason": "需要民警到场处置"},
			edit: func(s *snapshot) { s.Status = "escalated" }},
		{typ: "incident.closed", sec: 5000, data: map[string]any{"by": "王警官", "outcome": "已电话回访，纠纷已调解"},
			edit: func(s *snapshot) { s.Status, s.Outcome = "closed", "已电话回访，纠纷已调解" }},
	}
}

func cancelSteps() []eventStep {
	return []eventStep{
		{typ: "incident.cancelled", sec: 6030, data: map[string]any{"by": "citizen"},
			edit: func(s *snapshot) { s.Status = "cancelled" }},
		{typ: "incident.overdue", sec: 6000 + 86400, data: map[string]any{"deadline": "close"},
			edit: func(s *snapshot) { s.Overdue, s.Urgency = []string{"close"}, 1 }},
	}
}

// exEventID is a fixed stand-in for the journal's 16 random bytes in hex.
func exEventID(seq uint64) string {
	const hex = "0123456789abcdef"
	b := []byte("5e0c6a1f9d3b4e72a8c1f0d2b4e6a800")
	b[30], b[31] = hex[seq/16%16], hex[seq%16]
	return string(b)
}
