package screen

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"kioskd/kiosk"
)

func degradedState() kiosk.State {
	s := kiosk.NewState()
	s.Recovery = &kiosk.Recovery{SetAside: "/var/lib/kioskd/journal.db.broken-x", Since: time.Now()}
	return s
}

// The console shows the banner only while a recovery waits, and its
// acknowledgement goes to the controller with the guard's name.
func TestGuardRecoveryBanner(t *testing.T) {
	for _, degraded := range []bool{true, false} {
		c := &fakeController{state: kiosk.NewState()}
		if degraded {
			c.state = degradedState()
		}
		g, token, _ := newGuard(t, c)
		r := httptest.NewRequest("GET", "http://console.test/guard", nil)
		r.AddCookie(&http.Cookie{Name: "kioskd_guard", Value: token})
		w := httptest.NewRecorder()
		g.Handler().ServeHTTP(w, r)
		body := w.Body.String()
		shown := strings.Contains(body, `class="recovery"`) && strings.Contains(body, "journal.db.broken-x") &&
			strings.Contains(body, `action="/guard/recovery/acknowledge"`)
		if w.Code != http.StatusOK || shown != degraded {
			t.Errorf("degraded %v: HTTP %d, banner shown %v", degraded, w.Code, shown)
		}
	}
}

func TestGuardAcknowledgeRecovery(t *testing.T) {
	const path, origin = "/guard/recovery/acknowledge", "http://console.test"
	tests := []struct {
		name  string
		note  string
		err   error
		want  int
		input kiosk.Input
	}{
		{"acknowledged", " 已核对 ", nil, 200, kiosk.AcknowledgeRecovery{By: "张伟", Note: "已核对"}},
		{"without a note", "", nil, 200, kiosk.AcknowledgeRecovery{By: "张伟"}},
		{"note too long", strings.Repeat("x", kiosk.NoteLimit.Bytes+1), nil, 400, nil},
		{"nothing to acknowledge", "", kiosk.ErrRejected, 409, kiosk.AcknowledgeRecovery{By: "张伟"}},
	}
	for _, tt := range tests {
		c := &fakeController{state: degradedState(), err: tt.err}
		g, token, s := newGuard(t, c)
		w := post(g.Handler(), path, token, origin, url.Values{"csrf": {s.CSRF}, "note": {tt.note}})
		if w.Code != tt.want {
			t.Errorf("%s: HTTP %d, want %d (%s)", tt.name, w.Code, tt.want, w.Body)
		}
		var want []kiosk.Input
		if tt.input != nil {
			want = []kiosk.Input{tt.input}
		}
		if !slices.Equal(c.got, want) {
			t.Errorf("%s: controller got %#v, want %#v", tt.name, c.got, want)
		}
	}
	c := &fakeController{state: degradedState()}
	g, token, _ := newGuard(t, c)
	if w := post(g.Handler(), path, token, origin, url.Values{}); w.Code != http.StatusForbidden || len(c.got) != 0 {
		t.Errorf("without the CSRF token: HTTP %d, controller got %v; want 403 and nothing", w.Code, c.got)
	}
	if w := post(g.Handler(), path, "", origin, url.Values{}); w.Code != http.StatusUnauthorized || len(c.got) != 0 {
		t.Errorf("without a session: HTTP %d, controller got %v; want 401 and nothing", w.Code, c.got)
	}
}

// /healthz says degraded with 200: a press is still taken.
func TestHealthzDegraded(t *testing.T) {
	rec := degradedState().Recovery
	s := &Server{KioskID: "k1", Controller: &fakeController{state: kiosk.NewState()}, Health: func() Health {
		return Health{Status: "degraded", Recovery: rec}
	}}
	w := do(s.Handler(), "GET", "/healthz", "")
	var got struct {
		Status          string          `json:"status"`
		AlarmPath       string          `json:"alarm_path"`
		JournalRecovery *kiosk.Recovery `json:"journal_recovery"`
	}
	json.Unmarshal(w.Body.Bytes(), &got)
	if w.Code != http.StatusOK || got.Status != "degraded" || got.AlarmPath != "ok" || got.JournalRecovery == nil || got.JournalRecovery.SetAside != rec.SetAside {
		t.Errorf("/healthz degraded: %d %s", w.Code, w.Body)
	}
}
