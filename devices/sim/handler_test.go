package sim

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"kioskd/devices"
)

func TestHandler(t *testing.T) {
	tests := []struct {
		name, method, path, body string
		wantStatus               int
		wantJSON                 map[string]any // fields that must be in the reply
	}{
		{"press, default hold", "POST", "/api/sim/buttons/police/press", "", 202,
			map[string]any{"button": "police", "hold_ms": 100.0}},
		{"press, given hold", "POST", "/api/sim/buttons/police/press", `{"hold_ms": 3000}`, 202,
			map[string]any{"button": "police", "hold_ms": 3000.0}},
		{"press, empty object", "POST", "/api/sim/buttons/lawyer/press", `{}`, 202,
			map[string]any{"button": "lawyer", "hold_ms": 100.0}},
		{"press, unknown button", "POST", "/api/sim/buttons/fire/press", "", 404,
			map[string]any{"known": []any{"lawyer", "police"}}},
		{"press, bad JSON", "POST", "/api/sim/buttons/police/press", `{"hold_ms":`, 400, nil},
		{"press, unknown field", "POST", "/api/sim/buttons/police/press", `{"hold":5}`, 400, nil},
		{"press, two values", "POST", "/api/sim/buttons/police/press", `{} {}`, 400, nil},
		{"press, fractional hold", "POST", "/api/sim/buttons/police/press", `{"hold_ms": 1.5}`, 400, nil},
		{"press, negative hold", "POST", "/api/sim/buttons/police/press", `{"hold_ms": -1}`, 400, nil},
		{"press, huge hold", "POST", "/api/sim/buttons/police/press", `{"hold_ms": 120001}`, 400, nil},
		{"press, longest hold", "POST", "/api/sim/buttons/police/press", `{"hold_ms": 120000}`, 202,
			map[string]any{"hold_ms": 120000.0}},
		{"press, oversized body", "POST", "/api/sim/buttons/police/press", `{"hold_ms": 1` + strings.Repeat(" ", 2000) + `}`, 400, nil},
		{"press, wrong method", "GET", "/api/sim/buttons/police/press", "", 405, nil},
		{"down", "POST", "/api/sim/buttons/police/down", "", 202,
			map[string]any{"button": "police", "state": "down"}},
		{"up", "POST", "/api/sim/buttons/police/up", "", 202,
			map[string]any{"button": "police", "state": "up"}},
		{"down, unknown button", "POST", "/api/sim/buttons/fire/down", "", 404, nil},
		{"tamper open", "POST", "/api/sim/tamper/open", "", 202, map[string]any{"tamper": "open"}},
		{"tamper close", "POST", "/api/sim/tamper/close", "", 202, map[string]any{"tamper": "closed"}},
	}
	buttons := map[string]*Button{
		"police": NewButton("police", devices.PressConfig{}),
		"lawyer": NewButton("lawyer", devices.PressConfig{}),
	}
	h := Handler(buttons, NewTamper("tamper"))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.path, strings.NewReader(tt.body)))
			if rec.Code != tt.wantStatus {
				t.Fatalf("status: got %d, want %d (body %s)", rec.Code, tt.wantStatus, rec.Body)
			}
			if tt.wantStatus == 405 {
				return
			}
			var got map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
				t.Fatalf("reply %q is not a JSON object: %v", rec.Body, err)
			}
			if tt.wantStatus >= 400 && got["error"] == nil {
				t.Errorf("reply %v has no error field", got)
			}
			for k, want := range tt.wantJSON {
				if g, _ := json.Marshal(got[k]); string(g) != mustJSON(t, want) {
					t.Errorf("%s: got %s, want %s", k, g, mustJSON(t, want))
				}
			}
		})
	}
}

func TestHandlerNoTamper(t *testing.T) {
	rec := httptest.NewRecorder()
	Handler(nil, nil).ServeHTTP(rec, httptest.NewRequest("POST", "/api/sim/tamper/open", nil))
	if got, want := rec.Code, http.StatusNotFound; got != want {
		t.Errorf("status: got %d, want %d", got, want)
	}
}

// A press over HTTP reaches a running button as a real press would.
func TestHandlerPressReachesButton(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := NewButton("police", devices.PressConfig{})
		r := start(t, b)
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("POST", "/api/sim/buttons/police/press", strings.NewReader(`{"hold_ms":3500}`))
		Handler(map[string]*Button{"police": b}, nil).ServeHTTP(rec, req)
		if rec.Code != http.StatusAccepted {
			t.Fatalf("status: got %d, want %d", rec.Code, http.StatusAccepted)
		}
		got := r.after(5 * time.Second)
		r.stop(t)
		if want := []devices.InputKind{devices.Pressed, devices.LongPressed}; !slices.Equal(got, want) {
			t.Errorf("got %v, want %v", got, want)
		}
	})
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
