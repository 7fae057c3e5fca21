package kiosk

import (
	"errors"
	"slices"
	"testing"
)

func TestSelfTestFault(t *testing.T) {
	s := NewState()
	s, fx, err := rules.Step(s, SelfTestDone{Passed: false, Failed: "test_call", Report: map[string]any{"ok": false}}, t0)
	if got, want := types(fx), []string{EvSelfTestFailed, EvFaultRaised}; err != nil || !slices.Equal(got, want) {
		t.Fatalf("failed self-test: %v, %v; want %v", got, err, want)
	}
	if f, ok := s.Faults[FaultSelfTest]; !ok || f.Detail != "self-test failed: test_call" {
		t.Errorf("fault %+v, want self_test", f)
	}
	_, fx, _ = rules.Step(s, SelfTestDone{Passed: false, Failed: "test_call"}, t0)
	if got, want := types(fx), []string{EvSelfTestFailed}; !slices.Equal(got, want) {
		t.Errorf("second failure: %v, want %v (one fault, not two)", got, want)
	}
	s, fx, _ = rules.Step(s, SelfTestDone{Passed: true}, t0)
	if got, want := types(fx), []string{EvSelfTestPassed, EvFaultCleared}; !slices.Equal(got, want) {
		t.Errorf("pass: %v, want %v", got, want)
	}
	if _, ok := s.Faults[FaultSelfTest]; ok {
		t.Error("fault still raised after a pass")
	}
}

func TestUpdateNews(t *testing.T) {
	for _, typ := range updateEvents {
		_, fx, err := rules.Step(NewState(), UpdateNews{Event: typ, Data: map[string]any{"version": "1.1.0"}}, t0)
		if got := types(fx); err != nil || !slices.Equal(got, []string{typ}) || fx.Records[0].Urgent || fx.Records[0].Telemetry {
			t.Errorf("UpdateNews %s: %v, %v; want one critical, not urgent, event", typ, got, err)
		}
	}
	if _, _, err := rules.Step(NewState(), UpdateNews{Event: EvRegistered}, t0); !errors.Is(err, ErrBadInput) {
		t.Errorf("UpdateNews of incident.registered: %v, want ErrBadInput", err)
	}
}
