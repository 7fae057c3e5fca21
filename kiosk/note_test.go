package kiosk

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestStepNotesAndOutcomes(t *testing.T) {
	tests := []struct {
		name      string
		from      State
		in        Input
		wantErr   error
		wantTypes []string
	}{
		{"note", withIncident(Accepted), AddNote{Incident: "a", By: "张伟", Text: " 已到现场 "}, nil, []string{EvNoteAdded}},
		{"note on a cancelled call", withIncident(Cancelled), AddNote{Incident: "a", By: "张伟", Text: "来电人说是误按"}, nil, []string{EvNoteAdded}},
		{"note needs text", withIncident(Accepted), AddNote{Incident: "a", By: "张伟", Text: "  "}, ErrBadInput, nil},
		{"note needs who", withIncident(Accepted), AddNote{Incident: "a", Text: "x"}, ErrBadInput, nil},
		{"note at its bound", withIncident(Accepted), AddNote{Incident: "a", By: "g", Text: strings.Repeat("字", NoteLimit.Runes)}, nil, []string{EvNoteAdded}},
		{"note too long", withIncident(Accepted), AddNote{Incident: "a", By: "g", Text: strings.Repeat("字", NoteLimit.Runes+1)}, ErrBadInput, nil},
		{"note unknown", withIncident(Accepted), AddNote{Incident: "b", By: "g", Text: "x"}, ErrNotFound, nil},
		{"every outcome", withIncident(Delivered), HandleOnSite{Incident: "a", By: "g", Outcome: OutcomeFalseAlarm}, nil, []string{EvHandledOnSite}},
		{"unknown outcome", withIncident(Accepted), HandleOnSite{Incident: "a", By: "g", Outcome: "sorted"}, ErrBadInput, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, fx, err := rules.Step(tt.from, tt.in, t0.Add(time.Minute))
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if !slices.Equal(types(fx), tt.wantTypes) {
				t.Errorf("events = %v, want %v", types(fx), tt.wantTypes)
			}
			if err == nil && got.Incidents["a"].Status != tt.from.Incidents["a"].Status && tt.wantTypes[0] == EvNoteAdded {
				t.Errorf("a note changed the status to %s", got.Incidents["a"].Status)
			}
		})
	}
}

func TestNoteRecordsWhoAndWhat(t *testing.T) {
	_, fx, err := rules.Step(withIncident(Accepted), AddNote{Incident: "a", By: "张伟", Text: " 已到现场 "}, t0)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(fx.Records[0].Data)
	var data struct{ By, Text string }
	json.Unmarshal(b, &data)
	if data.By != "张伟" || data.Text != "已到现场" {
		t.Errorf("note data = %s, want by 张伟 and the trimmed text", b)
	}
	if fx.Records[0].Urgent {
		t.Error("a note is marked urgent: it would overtake alarms")
	}
}
