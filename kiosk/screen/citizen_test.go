package screen

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"kioskd/kiosk"
)

func newCitizen(st kiosk.State, online bool) (*Citizen, http.Handler) {
	c := &Citizen{
		API: &Server{KioskID: "k1", Controller: &fakeController{state: st},
			Health: func() Health { return Health{} }},
		Hub:    NewHub(st),
		Online: func() bool { return online },
	}
	mux := http.NewServeMux()
	mux.Handle("/", c.API.Handler())
	c.Register(mux)
	return c, mux
}

func TestCitizenViewShowsOnlyCitizensCalls(t *testing.T) {
	st := citizenState()
	st.Incidents["x"].Outcome = "false alarm"
	st.Faults["tamper"] = kiosk.Fault{Key: "tamper"}
	_, h := newCitizen(st, false)
	w := do(h, "GET", "/api/citizen", "")
	var got struct {
		Online bool             `json:"online"`
		Calls  []map[string]any `json:"calls"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
		t.Fatalf("GET /api/citizen: %v (%s)", err, w.Body)
	}
	var ids []string
	for _, c := range got.Calls {
		ids = append(ids, c["id"].(string))
		for _, private := range []string{"outcome", "source", "test", "close_due"} {
			if _, ok := c[private]; ok {
				t.Errorf("call %s shows %q to the public", c["id"], private)
			}
		}
	}
	if strings.Join(ids, ",") != "inc-1,x" || got.Online {
		t.Errorf("view = online %v, calls %v; want offline with inc-1,x (no tamper, no test)", got.Online, ids)
	}
	if strings.Contains(w.Body.String(), "tamper") || strings.Contains(w.Body.String(), "false alarm") {
		t.Errorf("the citizen view leaks a fault or an outcome: %s", w.Body)
	}
}

func TestCitizenRoutes(t *testing.T) {
	_, h := newCitizen(kiosk.NewState(), true)
	tests := []struct {
		method, path string
		code         int
		contentType  string
	}{
		{"GET", "/", 200, "text/html; charset=utf-8"},
		{"GET", "/citizen/citizen.js", 200, "text/javascript; charset=utf-8"},
		{"GET", "/citizen/citizen.css", 200, "text/css; charset=utf-8"},
		{"GET", "/voice/zh-registered.ogg", 200, "audio/ogg"},
		{"GET", "/citizen/", 404, ""},
		{"GET", "/citizen/missing.js", 404, ""},
		{"GET", "/index.html", 404, ""},
		{"GET", "/guard", 404, ""},
		{"GET", "/guard/", 404, ""},
		{"POST", "/guard/login", 404, ""},
		{"GET", "/admin", 404, ""},
		{"POST", "/api/incidents/inc-1/accept", 404, ""},
		{"POST", "/api/incidents/inc-1/close", 404, ""},
		{"POST", "/", 404, ""},
	}
	for _, tt := range tests {
		w := do(h, tt.method, tt.path, "")
		if w.Code != tt.code {
			t.Errorf("%s %s = %d, want %d", tt.method, tt.path, w.Code, tt.code)
		}
		if tt.contentType != "" && w.Header().Get("Content-Type") != tt.contentType {
			t.Errorf("%s %s: Content-Type %q, want %q", tt.method, tt.path, w.Header().Get("Content-Type"), tt.contentType)
		}
	}
	if csp := do(h, "GET", "/", "").Header().Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
		t.Errorf("page CSP = %q, want default-src 'self' (nothing from elsewhere)", csp)
	}
}

// TestVoicePromptsExist: every prompt the screen can ask for is embedded,
// in both languages, and small (hack/voices makes them).
func TestVoicePromptsExist(t *testing.T) {
	_, h := newCitizen(kiosk.NewState(), true)
	js := do(h, "GET", "/citizen/citizen.js", "").Body.String()
	prompts := []string{"registered", "onsite", "delivered", "accepted", "accepted5", "message",
		"overdue", "cancelled", "handled", "escalated"}
	for _, lang := range []string{"zh", "en"} {
		for _, p := range prompts {
			w := do(h, "GET", "/voice/"+lang+"-"+p+".ogg", "")
			if w.Code != 200 || !strings.HasPrefix(w.Body.String(), "OggS") || w.Body.Len() > 16<<10 {
				t.Errorf("voice %s-%s: code %d, %d bytes; want a small Ogg file", lang, p, w.Code, w.Body.Len())
			}
		}
	}
	if !strings.Contains(js, `"/voice/" + lang + "-" + name + ".ogg"`) {
		t.Error("citizen.js no longer names the prompts /voice/{lang}-{name}.ogg; update this test and hack/voices")
	}
}

func TestCitizenEventsStreamTheFilteredView(t *testing.T) {
	c, h := newCitizen(kiosk.NewState(), true)
	srv := httptest.NewServer(h)
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/api/citizen/events", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	lines := bufio.NewScanner(resp.Body)
	next := func() string {
		for lines.Scan() {
			if data, ok := strings.CutPrefix(lines.Text(), "data: "); ok {
				return data
			}
		}
		t.Fatalf("stream ended: %v", lines.Err())
		return ""
	}
	if first := next(); !strings.Contains(first, `"calls":[]`) {
		t.Errorf("first event = %s, want no calls", first)
	}
	c.Hub.Publish(nil, citizenState())
	if second := next(); !strings.Contains(second, `"id":"inc-1"`) || strings.Contains(second, "tamper-1") {
		t.Errorf("second event = %s, want inc-1 and no tamper alarm", second)
	}
}
