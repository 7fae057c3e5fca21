package screen

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"kioskd/kiosk"
)

// fakeController is our own small interface's fake: the real controller is
// exercised in kiosk's and firmware's tests.
type fakeController struct {
	state kiosk.State
	got   []kiosk.Input
	err   error
}

func (f *fakeController) State() kiosk.State { return f.state }
func (f *fakeController) Submit(_ context.Context, in kiosk.Input) (string, error) {
	f.got = append(f.got, in)
	return "inc-1", f.err
}

func newServer(c *fakeController, alarmPath error) http.Handler {
	s := &Server{KioskID: "k1", BootEpoch: 3, Controller: c, Health: func() Health {
		return Health{AlarmPath: alarmPath, Details: map[string]string{"journal": "ok"}, Link: map[string]bool{"connected": false}}
	}}
	return s.Handler()
}

func do(h http.Handler, method, path, body string) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(method, path, strings.NewReader(body)))
	return w
}

func TestHealthz(t *testing.T) {
	tests := []struct {
		name      string
		alarmPath error
		want      int
	}{
		{"healthy even with the broker away", nil, 200},
		{"journal broken", errors.New("journal: read-only file system"), 503},
	}
	for _, tt := range tests {
		w := do(newServer(&fakeController{state: kiosk.NewState()}, tt.alarmPath), "GET", "/healthz", "")
		if w.Code != tt.want {
			t.Errorf("%s: code = %d, want %d (%s)", tt.name, w.Code, tt.want, w.Body)
		}
	}
}

func TestStateMostUrgentFirst(t *testing.T) {
	st := kiosk.NewState()
	t0 := time.Now()
	st.Incidents["old"] = &kiosk.Incident{ID: "old", RegisteredAt: t0}
	st.Incidents["urgent"] = &kiosk.Incident{ID: "urgent", Urgency: kiosk.Urgent, RegisteredAt: t0.Add(time.Minute)}
	st.Incidents["new"] = &kiosk.Incident{ID: "new", RegisteredAt: t0.Add(time.Hour)}
	w := do(newServer(&fakeController{state: st}, nil), "GET", "/api/state", "")
	var got struct {
		Kiosk     string `json:"kiosk"`
		Incidents []struct {
			ID string `json:"id"`
		} `json:"incidents"`
	}
	json.Unmarshal(w.Body.Bytes(), &got)
	var ids []string
	for _, in := range got.Incidents {
		ids = append(ids, in.ID)
	}
	if strings.Join(ids, ",") != "urgent,old,new" || got.Kiosk != "k1" {
		t.Errorf("state = %s, want kiosk k1 with urgent,old,new", w.Body)
	}
}

func TestCitizenActions(t *testing.T) {
	tests := []struct {
		name, method, path, body string
		err                      error
		want                     int
		wantInput                kiosk.Input
	}{
		{"touch a request", "POST", "/api/calls", `{"request":"lawyer"}`, nil, 200, kiosk.Press{Request: kiosk.Lawyer, Source: "screen"}},
		{"unknown request", "POST", "/api/calls", `{"request":"tamper"}`, nil, 400, nil},
		{"not json", "POST", "/api/calls", `police`, nil, 400, nil},
		{"cancel", "POST", "/api/incidents/inc-1/cancel", "", nil, 200, kiosk.Cancel{Incident: "inc-1", By: "citizen"}},
		{"cancel unknown", "POST", "/api/incidents/nope/cancel", "", nil, 404, nil},
		{"cancel closed meanwhile", "POST", "/api/incidents/x/cancel", "", kiosk.ErrNotFound, 404, kiosk.Cancel{Incident: "x", By: "citizen"}},
		{"cancel a tamper alarm", "POST", "/api/incidents/tamper-1/cancel", "", nil, 404, nil},
		{"cancel a test call", "POST", "/api/incidents/test-1/cancel", "", nil, 404, nil},
		{"cancel too late", "POST", "/api/incidents/x/cancel", "", kiosk.ErrRejected, 409, kiosk.Cancel{Incident: "x", By: "citizen"}},
		{"journal down", "POST", "/api/calls", `{"request":"police"}`, errors.New("disk"), 503, kiosk.Press{Request: kiosk.Police, Source: "screen"}},
		{"no GET on actions", "GET", "/api/calls", "", nil, 405, nil},
	}
	for _, tt := range tests {
		c := &fakeController{state: citizenState(), err: tt.err}
		w := do(newServer(c, nil), tt.method, tt.path, tt.body)
		if w.Code != tt.want {
			t.Errorf("%s: code = %d, want %d (%s)", tt.name, w.Code, tt.want, w.Body)
		}
		if tt.wantInput == nil && len(c.got) != 0 || tt.wantInput != nil && (len(c.got) != 1 || c.got[0] != tt.wantInput) {
			t.Errorf("%s: inputs = %v, want %v", tt.name, c.got, tt.wantInput)
		}
	}
}

// citizenState holds two citizen calls, a tamper alarm and a test call.
func citizenState() kiosk.State {
	s := kiosk.NewState()
	s.Incidents["inc-1"] = &kiosk.Incident{ID: "inc-1", Request: kiosk.Lawyer, Status: kiosk.Registered}
	s.Incidents["x"] = &kiosk.Incident{ID: "x", Request: kiosk.Police, Status: kiosk.HandledOnSite}
	s.Incidents["tamper-1"] = &kiosk.Incident{ID: "tamper-1", Request: kiosk.Tamper, Status: kiosk.Registered}
	s.Incidents["test-1"] = &kiosk.Incident{ID: "test-1", Request: kiosk.Police, Status: kiosk.Registered, Test: true}
	return s
}

// TestCallBodyBounded: the citizen API reads at most maxAPIBody bytes of a
// call, and says so; nothing reaches the controller.
func TestCallBodyBounded(t *testing.T) {
	c := &fakeController{state: kiosk.NewState()}
	h := newServer(c, nil)
	big := `{"request":"police","pad":"` + strings.Repeat("x", maxAPIBody) + `"}`
	if w := do(h, "POST", "/api/calls", big); w.Code != http.StatusRequestEntityTooLarge || !strings.Contains(w.Body.String(), "4096 bytes") {
		t.Errorf("a call of %d bytes: %d %s, want 413 naming the bound", len(big), w.Code, w.Body)
	}
	if w := do(h, "POST", "/api/calls", `{"request":"police","note":"extra"}`); w.Code != http.StatusBadRequest {
		t.Errorf("a call with a field the API does not take: %d, want 400", w.Code)
	}
	if len(c.got) != 0 {
		t.Errorf("the controller got %v", c.got)
	}
	if w := do(h, "POST", "/api/calls", `{"request":"police"}`); w.Code != http.StatusOK {
		t.Errorf("a valid call: %d %s", w.Code, w.Body)
	}
}
