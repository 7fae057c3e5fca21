package kiosk

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// TestStepRefusesTextsOverTheirLimits: every text an action carries is
// bounded in characters and in bytes, whichever way it reaches the
// controller, and a refused action changes nothing.
func TestStepRefusesTextsOverTheirLimits(t *testing.T) {
	wide := func(n int) string { return strings.Repeat("龘", n) } // 3 bytes each
	big := strings.Repeat("x", 300<<10)
	tests := []struct {
		name string
		in   Input
		ok   bool
	}{
		{"responder at its bound", Accept{Incident: "a", Responder: wide(64)}, true},
		{"responder one over", Accept{Incident: "a", Responder: wide(65)}, false},
		{"300 KB responder", Accept{Incident: "a", Responder: big}, false},
		{"responder with a line break", Accept{Incident: "a", Responder: "王\n警官"}, false},
		{"responder over in bytes", Accept{Incident: "a", Responder: strings.Repeat("😀", 49)}, false},
		{"message at its bound", SendMessage{Incident: "a", From: wide(64), Text: wide(200)}, true},
		{"message one over", SendMessage{Incident: "a", From: "站", Text: wide(201)}, false},
		{"message without from", SendMessage{Incident: "a", Text: "马上到"}, false},
		{"message from 300 KB", SendMessage{Incident: "a", From: big, Text: "马上到"}, false},
		{"message with an escape", SendMessage{Incident: "a", From: "站", Text: "\x1b[2J"}, false},
		{"message on two lines", SendMessage{Incident: "a", From: "站", Text: "马上到\n请稍候"}, true},
		{"escalate reason at its bound", Escalate{Incident: "a", By: "g", Reason: wide(500)}, true},
		{"escalate reason one over", Escalate{Incident: "a", By: "g", Reason: wide(501)}, false},
		{"escalate by 300 KB", Escalate{Incident: "a", By: big, Reason: "r"}, false},
		{"close outcome at its bound", Close{Incident: "a", By: "g", Outcome: wide(200)}, true},
		{"close 5000-character outcome", Close{Incident: "a", By: "g", Outcome: strings.Repeat("o", 5000)}, false},
		{"close by with a bidi override", Close{Incident: "a", By: "g\u202e", Outcome: "done"}, false},
		{"cancel by 300 KB", Cancel{Incident: "a", By: big}, false},
		{"handle by invalid UTF-8", HandleOnSite{Incident: "a", By: "g\xff", Outcome: OutcomeMediated}, false},
	}
	for _, tt := range tests {
		from := withIncident(Accepted)
		got, fx, err := rules.Step(from, tt.in, t0.Add(time.Minute))
		if tt.ok {
			if err != nil {
				t.Errorf("%s: %v, want ok", tt.name, err)
			}
			continue
		}
		if !errors.Is(err, ErrBadInput) {
			t.Errorf("%s: err = %v, want ErrBadInput", tt.name, err)
		}
		if len(fx.Records) != 0 || got.Incidents["a"].Status != Accepted || got.Incidents["a"].Responder != from.Incidents["a"].Responder {
			t.Errorf("%s: refused, but %d records and status %s", tt.name, len(fx.Records), got.Incidents["a"].Status)
		}
		if err != nil && len(err.Error()) > 200 {
			t.Errorf("%s: the error repeats the text (%d bytes)", tt.name, len(err.Error()))
		}
	}
}

// TestRefusedCommandRecordIsCut: a refused command's record keeps at most a
// bounded part of what an outsider sent.
func TestRefusedCommandRecordIsCut(t *testing.T) {
	big := strings.Repeat("z", 300<<10)
	_, fx, err := rules.Step(NewState(), CommandRefused{Code: "malformed", Message: big, Command: big, Name: big, AddressedTo: big}, t0)
	if err != nil || len(fx.Records) != 1 {
		t.Fatalf("err %v, %d records", err, len(fx.Records))
	}
	for k, v := range fx.Records[0].Data.(map[string]any) {
		if s, ok := v.(string); ok && len(s) > RefusedLimit.Bytes {
			t.Errorf("%s: %d bytes kept", k, len(s))
		}
	}
}

func TestTextLimitCutFits(t *testing.T) {
	for _, s := range []string{strings.Repeat("龘", 400), "a\x00\xff\u202e", strings.Repeat("😀", 400)} {
		if got := RefusedLimit.Cut(s); RefusedLimit.Check("s", got, false) != nil {
			t.Errorf("Cut(%.12q) = %.12q does not fit", s, got)
		}
	}
}
