package kiosk

import (
	"errors"
	"slices"
	"testing"
	"time"
)

var (
	t0    = time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	rules = Rules{CallbackWithin: 5 * time.Minute, CloseWithin: 24 * time.Hour}
)

// withIncident returns a state holding one incident in the given status.
func withIncident(status Status) State {
	s := NewState()
	s.Incidents["a"] = &Incident{
		ID: "a", Request: Police, Status: status, Presses: 1, RegisteredAt: t0,
		CallbackDue: t0.Add(5 * time.Minute), CloseDue: t0.Add(24 * time.Hour),
		Delivered: status != Registered,
	}
	return s
}

func types(fx Effects) []string {
	var out []string
	for _, r := range fx.Records {
		out = append(out, r.Type)
	}
	return out
}

func TestStepTransitions(t *testing.T) {
	tests := []struct {
		name       string
		from       State
		in         Input
		wantErr    error
		wantTypes  []string
		wantStatus Status // of incident "a" after; "" means gone from the live state
	}{
		{"deliver registered", withIncident(Registered), Deliver{Incident: "a"}, nil, []string{EvDelivered}, Delivered},
		{"deliver twice is silent", withIncident(Delivered), Deliver{Incident: "a"}, nil, nil, Delivered},
		{"deliver after accept keeps accepted", func() State { s := withIncident(Accepted); s.Incidents["a"].Delivered = false; return s }(), Deliver{Incident: "a"}, nil, []string{EvDelivered}, Accepted},
		{"accept registered", withIncident(Registered), Accept{Incident: "a", Responder: "王警官"}, nil, []string{EvAccepted}, Accepted},
		{"accept delivered", withIncident(Delivered), Accept{Incident: "a", Responder: "王警官"}, nil, []string{EvAccepted}, Accepted},
		{"accept again changes responder", withIncident(Accepted), Accept{Incident: "a", Responder: "李"}, nil, []string{EvAccepted}, Accepted},
		{"accept needs responder", withIncident(Delivered), Accept{Incident: "a"}, ErrBadInput, nil, Delivered},
		{"accept cancelled refused", withIncident(Cancelled), Accept{Incident: "a", Responder: "x"}, ErrRejected, nil, Cancelled},
		{"accept unknown", withIncident(Delivered), Accept{Incident: "zz", Responder: "x"}, ErrNotFound, nil, Delivered},
		{"message", withIncident(Accepted), SendMessage{Incident: "a", From: "站", Text: "马上到"}, nil, []string{EvMessage}, Accepted},
		{"empty message refused", withIncident(Accepted), SendMessage{Incident: "a", Text: " "}, ErrBadInput, nil, Accepted},
		{"handle on site", withIncident(Accepted), HandleOnSite{Incident: "a", By: "guard1", Outcome: "mediated"}, nil, []string{EvHandledOnSite}, HandledOnSite},
		{"handle on site needs outcome", withIncident(Accepted), HandleOnSite{Incident: "a", By: "guard1"}, ErrBadInput, nil, Accepted},
		{"handle escalated refused", withIncident(Escalated), HandleOnSite{Incident: "a", By: "g", Outcome: "x"}, ErrRejected, nil, Escalated},
		{"escalate accepted", withIncident(Accepted), Escalate{Incident: "a", By: "g", Reason: "需派出所"}, nil, []string{EvEscalated}, Escalated},
		{"escalate after on-site", withIncident(HandledOnSite), Escalate{Incident: "a", By: "g", Reason: "r"}, nil, []string{EvEscalated}, Escalated},
		{"escalate cancelled refused", withIncident(Cancelled), Escalate{Incident: "a", By: "g", Reason: "r"}, ErrRejected, nil, Cancelled},
		{"escalate needs who", withIncident(Accepted), Escalate{Incident: "a", Reason: "r"}, ErrBadInput, nil, Accepted},
		{"cancel registered", withIncident(Registered), Cancel{Incident: "a", By: "citizen"}, nil, []string{EvCancelled}, Cancelled},
		{"cancel accepted", withIncident(Accepted), Cancel{Incident: "a", By: "citizen"}, nil, []string{EvCancelled}, Cancelled},
		{"cancel escalated refused", withIncident(Escalated), Cancel{Incident: "a"}, ErrRejected, nil, Escalated},
		{"close escalated", withIncident(Escalated), Close{Incident: "a", By: "g", Outcome: "resolved"}, nil, []string{EvClosed}, ""},
		{"close cancelled", withIncident(Cancelled), Close{Incident: "a", By: "g", Outcome: "mistake"}, nil, []string{EvClosed}, ""},
		{"close needs outcome", withIncident(Escalated), Close{Incident: "a", By: "g"}, ErrBadInput, nil, Escalated},
		{"close unknown", withIncident(Escalated), Close{Incident: "b", By: "g", Outcome: "x"}, ErrNotFound, nil, Escalated},
		{"unknown input", withIncident(Registered), nil, ErrBadInput, nil, Registered},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := tt.from.Clone()
			got, fx, err := rules.Step(tt.from, tt.in, t0.Add(time.Minute))
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if !slices.Equal(types(fx), tt.wantTypes) {
				t.Errorf("events = %v, want %v", types(fx), tt.wantTypes)
			}
			var status Status
			if in, ok := got.Incidents["a"]; ok {
				status = in.Status
			}
			if status != tt.wantStatus {
				t.Errorf("status = %q, want %q", status, tt.wantStatus)
			}
			if before.Incidents["a"].Status != tt.from.Incidents["a"].Status {
				t.Errorf("Step mutated its input state")
			}
		})
	}
}

func TestStepPresses(t *testing.T) {
	s := NewState()
	s, fx, err := rules.Step(s, Press{Request: Police, Source: "button:police", NewID: "a"}, t0)
	if err != nil || !slices.Equal(types(fx), []string{EvRegistered}) {
		t.Fatalf("first press: events %v, err %v", types(fx), err)
	}
	if !fx.Records[0].Urgent {
		t.Errorf("a new call is not marked urgent: it would wait behind a backlog")
	}
	in := s.Incidents["a"]
	if in.CallbackDue != t0.Add(5*time.Minute) || in.CloseDue != t0.Add(24*time.Hour) {
		t.Errorf("deadlines = %v, %v", in.CallbackDue, in.CloseDue)
	}

	// A repeat press of the same type joins and raises urgency.
	s, fx, _ = rules.Step(s, Press{Request: Police, NewID: "b"}, t0.Add(time.Second))
	if got, want := types(fx), []string{EvPressedAgain}; !slices.Equal(got, want) {
		t.Fatalf("repeat press: events %v, want %v", got, want)
	}
	if len(s.Incidents) != 1 || s.Incidents["a"].Presses != 2 || s.Incidents["a"].Urgency != Raised {
		t.Errorf("after repeat: %d incidents, presses %d, urgency %d", len(s.Incidents), s.Incidents["a"].Presses, s.Incidents["a"].Urgency)
	}

	// Another type opens its own incident; a test call does not join a real one.
	s, _, _ = rules.Step(s, Press{Request: Lawyer, NewID: "c"}, t0)
	s, _, _ = rules.Step(s, Press{Request: Police, Test: true, NewID: "d"}, t0)
	if len(s.Incidents) != 3 || !s.Incidents["d"].Test {
		t.Errorf("incidents = %d, want 3 with d a test call", len(s.Incidents))
	}

	// A press after cancel opens a new incident.
	s, _, _ = rules.Step(s, Cancel{Incident: "c", By: "citizen"}, t0)
	s, _, _ = rules.Step(s, Press{Request: Lawyer, NewID: "e"}, t0)
	if _, ok := s.Incidents["e"]; !ok {
		t.Errorf("press after cancel did not open a new incident")
	}

	if _, _, err := rules.Step(s, Press{Request: "pizza", NewID: "f"}, t0); !errors.Is(err, ErrBadInput) {
		t.Errorf("unknown request: err = %v, want ErrBadInput", err)
	}
}

func TestStepLongPress(t *testing.T) {
	tests := []struct {
		name        string
		req         Request
		wantTypes   []string
		wantUrgency int
	}{
		{"police long press is urgent", Police, []string{EvUrgent}, Urgent},
		{"lawyer long press is only a press", Lawyer, nil, Normal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _, _ := rules.Step(NewState(), Press{Request: tt.req, NewID: "a"}, t0)
			s, fx, err := rules.Step(s, LongPress{Request: tt.req}, t0.Add(3*time.Second))
			if err != nil || !slices.Equal(types(fx), tt.wantTypes) {
				t.Fatalf("events %v err %v, want %v", types(fx), err, tt.wantTypes)
			}
			if got := s.Incidents["a"].Urgency; got != tt.wantUrgency {
				t.Errorf("urgency = %d, want %d", got, tt.wantUrgency)
			}
			_, fx, _ = rules.Step(s, LongPress{Request: tt.req}, t0.Add(4*time.Second))
			if len(fx.Records) != 0 {
				t.Errorf("second long press recorded %v", types(fx))
			}
		})
	}
}

func TestStepDeadlines(t *testing.T) {
	tests := []struct {
		name      string
		from      State
		at        time.Duration
		wantTypes []string
		overdue   []string
	}{
		{"before callback", withIncident(Delivered), 4*time.Minute + 58*time.Second, nil, nil},
		{"callback missed", withIncident(Delivered), 5 * time.Minute, []string{EvOverdue}, []string{CallbackDeadline}},
		{"accepted meets callback", withIncident(Accepted), 6 * time.Minute, nil, nil},
		{"cancelled has no callback", withIncident(Cancelled), 6 * time.Minute, nil, nil},
		{"both missed at once", withIncident(Registered), 25 * time.Hour, []string{EvOverdue, EvOverdue}, []string{CallbackDeadline, CloseDeadline}},
		{"accepted still must close", func() State { s := withIncident(Accepted); s.Incidents["a"].CallbackMet = true; return s }(), 24 * time.Hour, []string{EvOverdue}, []string{CloseDeadline}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.from.Incidents["a"].Status == Accepted {
				tt.from.Incidents["a"].CallbackMet = true
			}
			s, fx, err := rules.Step(tt.from, Tick{}, t0.Add(tt.at))
			if err != nil || !slices.Equal(types(fx), tt.wantTypes) {
				t.Fatalf("events %v err %v, want %v", types(fx), err, tt.wantTypes)
			}
			in := s.Incidents["a"]
			if !slices.Equal(in.Overdue, tt.overdue) {
				t.Errorf("overdue = %v, want %v", in.Overdue, tt.overdue)
			}
			if len(tt.overdue) > 0 && in.Urgency == Normal {
				t.Errorf("urgency not raised after a missed deadline")
			}
			// Once overdue, a later tick says nothing new.
			if _, fx, _ := rules.Step(s, Tick{}, t0.Add(tt.at+time.Second)); len(fx.Records) != 0 {
				t.Errorf("second tick recorded %v", types(fx))
			}
		})
	}
}

func TestStepFaults(t *testing.T) {
	s, fx, _ := rules.Step(NewState(), TamperOpened{NewID: "t"}, t0)
	if got, want := types(fx), []string{EvFaultRaised, EvRegistered}; !slices.Equal(got, want) {
		t.Fatalf("tamper: events %v, want %v", got, want)
	}
	if s.Incidents["t"].Request != Tamper || s.Incidents["t"].Urgency != Urgent {
		t.Errorf("tamper alarm = %+v", s.Incidents["t"])
	}
	s, fx, _ = rules.Step(s, TamperClosed{}, t0)
	if got, want := types(fx), []string{EvFaultCleared}; !slices.Equal(got, want) {
		t.Errorf("tamper closed: events %v, want %v", got, want)
	}
	if _, ok := s.Incidents["t"]; !ok {
		t.Errorf("tamper alarm vanished when the switch closed")
	}

	s, fx, _ = rules.Step(s, RaiseFault{Key: "stuck:police"}, t0)
	_, fx2, _ := rules.Step(s, RaiseFault{Key: "stuck:police"}, t0)
	if len(fx.Records) != 1 || len(fx2.Records) != 0 {
		t.Errorf("stuck fault raised %d then %d times, want 1 then 0", len(fx.Records), len(fx2.Records))
	}
	_, fx, _ = rules.Step(NewState(), Boot{Version: "v", Recovered: "/x.broken"}, t0)
	if got, want := types(fx), []string{EvKioskStarted, EvJournalRecovered, EvFaultRaised}; !slices.Equal(got, want) {
		t.Errorf("boot after set-aside: events %v, want %v", got, want)
	}
}

func TestPattern(t *testing.T) {
	tests := []struct {
		name string
		s    State
		want string
	}{
		{"idle", NewState(), "idle"},
		{"registered", withIncident(Registered), "registered"},
		{"delivered", withIncident(Delivered), "delivered"},
		{"accepted", withIncident(Accepted), "accepted"},
		{"escalated shows accepted", withIncident(Escalated), "accepted"},
		{"cancelled is idle", withIncident(Cancelled), "idle"},
		{"fault wins", func() State { s := withIncident(Accepted); s.Faults["tamper"] = Fault{}; return s }(), "fault"},
		{"least advanced wins", func() State {
			s := withIncident(Accepted)
			s.Incidents["b"] = &Incident{ID: "b", Status: Registered}
			return s
		}(), "registered"},
	}
	for _, tt := range tests {
		if got := Pattern(tt.s); string(got) != tt.want {
			t.Errorf("%s: Pattern = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestStepClockStepped(t *testing.T) {
	s := withIncident(Accepted)
	s.Incidents["a"].CallbackBy = t0.Add(3 * time.Minute)
	s.Faults["tamper"] = Fault{Key: "tamper", Since: t0}
	delta := 56 * 365 * 24 * time.Hour // a box that booted in 1970 finds NTP
	got, fx, err := rules.Step(s, ClockStepped{Delta: delta}, t0.Add(time.Minute))
	if err != nil || !slices.Equal(types(fx), []string{EvClockStepped}) || len(fx.Snapshots) != 1 {
		t.Fatalf("events %v snapshots %d err %v, want one %s and one snapshot", types(fx), len(fx.Snapshots), err, EvClockStepped)
	}
	in, was := got.Incidents["a"], s.Incidents["a"]
	for name, pair := range map[string][2]time.Time{
		"registered_at": {in.RegisteredAt, was.RegisteredAt},
		"callback_due":  {in.CallbackDue, was.CallbackDue},
		"close_due":     {in.CloseDue, was.CloseDue},
		"callback_by":   {in.CallbackBy, was.CallbackBy},
		"fault since":   {got.Faults["tamper"].Since, s.Faults["tamper"].Since},
	} {
		if pair[0].Sub(pair[1]) != delta {
			t.Errorf("%s moved by %v, want %v", name, pair[0].Sub(pair[1]), delta)
		}
	}
	// Nothing falls overdue because the clock moved.
	if _, fx, _ := rules.Step(got, Tick{}, t0.Add(time.Minute+delta)); len(fx.Records) != 0 {
		t.Errorf("tick after step recorded %v", types(fx))
	}
}
