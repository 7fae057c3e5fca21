package screen

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"kioskd/kiosk"
	"kioskd/kiosk/journal"
	"kioskd/kiosk/screen/guardauth"
)

// fakeHistory is the journal's history of incidents, by id.
type fakeHistory map[string][]journal.Event

func (f fakeHistory) IncidentEvents(id string) ([]journal.Event, error) { return f[id], nil }

// newGuard returns a console around c with one guard, 张伟, and a live session of theirs.
func newGuard(t *testing.T, c *fakeController) (g *Guard, token string, s guardauth.Session) {
	t.Helper()
	hash, _ := bcrypt.GenerateFromPassword([]byte("right-password"), bcrypt.MinCost)
	auth, err := guardauth.New(guardauth.Options{Users: []guardauth.User{{Name: "张伟", Hash: string(hash)}}})
	if err != nil {
		t.Fatal(err)
	}
	g = &Guard{
		KioskID: "k1", Controller: c, History: fakeHistory{}, Auth: auth, Hub: NewHub(c.state),
		Now: time.Now, Online: func() bool { return true }, Log: slog.New(slog.DiscardHandler),
	}
	token, s, err = auth.Login(context.Background(), "张伟", "right-password", "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	return g, token, s
}

// post sends a form the way the console's page does.
func post(h http.Handler, path, token, origin string, form url.Values) *httptest.ResponseRecorder {
	r := httptest.NewRequest("POST", "http://console.test"+path, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if origin != "" {
		r.Header.Set("Origin", origin)
	}
	if token != "" {
		r.AddCookie(&http.Cookie{Name: "kioskd_guard", Value: token})
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestGuardActions(t *testing.T) {
	const origin = "http://console.test"
	tests := []struct {
		name  string
		path  string
		form  url.Values
		err   error
		want  int
		input kiosk.Input // nil: the controller is not asked
	}{
		{"accept", "/guard/incidents/a/accept", nil, nil, 200, kiosk.Accept{Incident: "a", Responder: "张伟"}},
		{"note", "/guard/incidents/a/note", url.Values{"text": {" 已到现场 "}}, nil, 200, kiosk.AddNote{Incident: "a", By: "张伟", Text: "已到现场"}},
		{"empty note", "/guard/incidents/a/note", url.Values{"text": {"  "}}, nil, 400, nil},
		{"handle", "/guard/incidents/a/handle", url.Values{"outcome": {"advice_given"}}, nil, 200, kiosk.HandleOnSite{Incident: "a", By: "张伟", Outcome: "advice_given"}},
		{"handle, made-up outcome", "/guard/incidents/a/handle", url.Values{"outcome": {"sorted"}}, nil, 400, nil},
		{"escalate", "/guard/incidents/a/escalate", url.Values{"reason": {"需要民警"}}, nil, 200, kiosk.Escalate{Incident: "a", By: "张伟", Reason: "需要民警"}},
		{"escalate without reason", "/guard/incidents/a/escalate", nil, nil, 400, nil},
		{"escalate, reason too long", "/guard/incidents/a/escalate", url.Values{"reason": {strings.Repeat("x", 501)}}, nil, 400, nil},
		{"close", "/guard/incidents/a/close", url.Values{"outcome": {"handed_to_station"}}, nil, 200, kiosk.Close{Incident: "a", By: "张伟", Outcome: "handed_to_station"}},
		{"close without outcome", "/guard/incidents/a/close", nil, nil, 400, nil},
		{"unknown action", "/guard/incidents/a/delete", nil, nil, 400, nil},
		{"closed meanwhile", "/guard/incidents/a/accept", nil, kiosk.ErrNotFound, 404, kiosk.Accept{Incident: "a", Responder: "张伟"}},
		{"not in this state", "/guard/incidents/a/handle", url.Values{"outcome": {"mediated"}}, kiosk.ErrRejected, 409, kiosk.HandleOnSite{Incident: "a", By: "张伟", Outcome: "mediated"}},
		{"journal down", "/guard/incidents/a/accept", nil, io.ErrShortWrite, 503, kiosk.Accept{Incident: "a", Responder: "张伟"}},
	}
	for _, tt := range tests {
		c := &fakeController{state: kiosk.NewState(), err: tt.err}
		g, token, s := newGuard(t, c)
		form := url.Values{"csrf": {s.CSRF}}
		for k, v := range tt.form {
			form[k] = v
		}
		w := post(g.Handler(), tt.path, token, origin, form)
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
}

func TestGuardRefuses(t *testing.T) {
	c := &fakeController{state: kiosk.NewState()}
	g, token, s := newGuard(t, c)
	h := g.Handler()
	note := func(csrf string) url.Values { return url.Values{"text": {"x"}, "csrf": {csrf}} }
	tests := []struct {
		name, token, origin string
		form                url.Values
		want                int
	}{
		{"no session", "", "http://console.test", note(s.CSRF), 401},
		{"forged session", "AAAA", "http://console.test", note(s.CSRF), 401},
		{"no CSRF token", token, "http://console.test", url.Values{"text": {"x"}}, 403},
		{"wrong CSRF token", token, "http://console.test", note("WRONG"), 403},
		{"another site", token, "http://evil.example", note(s.CSRF), 403},
	}
	for _, tt := range tests {
		if w := post(h, "/guard/incidents/a/note", tt.token, tt.origin, tt.form); w.Code != tt.want {
			t.Errorf("%s: HTTP %d, want %d", tt.name, w.Code, tt.want)
		}
	}
	if len(c.got) != 0 {
		t.Errorf("the controller got %v from refused requests, want nothing", c.got)
	}
	// A token sent in the header, as the page's script does, is accepted.
	r := httptest.NewRequest("POST", "http://console.test/guard/incidents/a/accept", nil)
	r.AddCookie(&http.Cookie{Name: "kioskd_guard", Value: token})
	r.Header.Set("X-CSRF-Token", s.CSRF)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != 200 {
		t.Errorf("token in the header: HTTP %d, want 200 (%s)", w.Code, w.Body)
	}
}

func TestGuardPages(t *testing.T) {
	c := &fakeController{state: kiosk.NewState()}
	g, token, _ := newGuard(t, c)
	h := g.Handler()
	get := func(path, token string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", "http://console.test"+path, nil)
		if token != "" {
			r.AddCookie(&http.Cookie{Name: "kioskd_guard", Value: token})
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	tests := []struct {
		name, path, token string
		want              int
		location          string
	}{
		{"console, logged out", "/guard", "", 303, "/guard/login"},
		{"console, expired", "/guard", "GONE", 303, "/guard/login?expired=1"},
		{"console", "/guard", token, 200, ""},
		{"live stream, logged out", "/guard/events", "", 401, ""},
		{"session, logged out", "/guard/session", "", 401, ""},
		{"login page", "/guard/login", "", 200, ""},
		{"stylesheet", "/guard/static/guard.css", "", 200, ""},
		{"no such asset", "/guard/static/nope.js", "", 404, ""},
		{"the kiosk API is not here", "/api/state", token, 404, ""},
	}
	for _, tt := range tests {
		w := get(tt.path, tt.token)
		if w.Code != tt.want || w.Header().Get("Location") != tt.location {
			t.Errorf("%s: HTTP %d to %q, want %d to %q", tt.name, w.Code, w.Header().Get("Location"), tt.want, tt.location)
		}
		if csp := w.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
			t.Errorf("%s: Content-Security-Policy = %q, want default-src 'self'", tt.name, csp)
		}
	}
}

func TestGuardLoginCookies(t *testing.T) {
	for _, tls := range []bool{false, true} {
		c := &fakeController{state: kiosk.NewState()}
		g, _, _ := newGuard(t, c)
		g.TLS = tls
		h := g.Handler()
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", "http://console.test/guard/login", nil))
		loginCookie := w.Result().Cookies()[0]
		token := hiddenField(t, w.Body.String(), "token")

		form := url.Values{"token": {token}, "name": {"张伟"}, "password": {"right-password"}}
		r := httptest.NewRequest("POST", "http://console.test/guard/login", strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.AddCookie(loginCookie)
		w = httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusSeeOther {
			t.Fatalf("tls %v: login: HTTP %d, want 303\n%s", tls, w.Code, w.Body)
		}
		var session *http.Cookie
		for _, ck := range w.Result().Cookies() {
			if strings.HasSuffix(ck.Name, "kioskd_guard") {
				session = ck
			}
		}
		wantName := map[bool]string{false: "kioskd_guard", true: "__Host-kioskd_guard"}[tls]
		if session == nil || session.Name != wantName || !session.HttpOnly || session.SameSite != http.SameSiteStrictMode || session.Secure != tls || session.Path != "/" {
			t.Errorf("tls %v: session cookie %+v, want %s, HttpOnly, SameSite=Strict, Secure only over TLS, Path /", tls, session, wantName)
		}
	}
}

func TestGuardLoginNeedsItsToken(t *testing.T) {
	c := &fakeController{state: kiosk.NewState()}
	g, _, _ := newGuard(t, c)
	form := url.Values{"token": {"MADEUP"}, "name": {"张伟"}, "password": {"right-password"}}
	r := httptest.NewRequest("POST", "http://console.test/guard/login", strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.AddCookie(&http.Cookie{Name: loginCookie, Value: "OTHER"})
	w := httptest.NewRecorder()
	g.Handler().ServeHTTP(w, r)
	if w.Code != http.StatusForbidden {
		t.Errorf("login with a token not its cookie's: HTTP %d, want 403", w.Code)
	}
}

func hiddenField(t *testing.T, page, name string) string {
	t.Helper()
	i := strings.Index(page, `name="`+name+`" value="`)
	if i < 0 {
		t.Fatalf("no hidden field %s in\n%s", name, page)
	}
	rest := page[i+len(`name="`+name+`" value="`):]
	return rest[:strings.IndexByte(rest, '"')]
}

func TestMostUrgentFirst(t *testing.T) {
	t0 := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	s := kiosk.NewState()
	add := func(id string, urgency int, overdue []string, age time.Duration) {
		s.Incidents[id] = &kiosk.Incident{ID: id, Urgency: urgency, Overdue: overdue, RegisteredAt: t0.Add(-age)}
	}
	add("new-normal", 0, nil, time.Minute)
	add("old-normal", 0, nil, time.Hour)
	add("raised", 1, nil, time.Minute)
	add("raised-overdue", 1, []string{"callback"}, time.Second)
	add("urgent", 2, nil, time.Second)
	var got []string
	for _, in := range mostUrgentFirst(s) {
		got = append(got, in.ID)
	}
	want := []string{"urgent", "raised-overdue", "raised", "old-normal", "new-normal"}
	if !slices.Equal(got, want) {
		t.Errorf("order = %v, want %v", got, want)
	}
}

func TestClipsOf(t *testing.T) {
	ev := func(typ string, clip kiosk.Clip) journal.Event {
		b, _ := json.Marshal(map[string]any{"clip": clip})
		return journal.Event{Type: typ, Data: b}
	}
	start := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	events := []journal.Event{
		{Type: kiosk.EvRegistered, Data: []byte(`{"source":"button:police"}`)},
		ev(kiosk.EvClipRecording, kiosk.Clip{ID: "c1", Camera: "door", State: "recording"}),
		ev(kiosk.EvClipRecording, kiosk.Clip{ID: "c2", Camera: "gate", State: "recording"}),
		ev(kiosk.EvClipReady, kiosk.Clip{ID: "c1", Camera: "door", State: "ready", Start: start}),
		ev(kiosk.EvClipFailed, kiosk.Clip{ID: "c2", Camera: "gate", State: "failed", Error: "camera offline"}),
		ev(kiosk.EvClipUploadFailed, kiosk.Clip{ID: "c1", Camera: "door", State: "failed"}), // the file is still there
	}
	got := clipsOf(events)
	want := []clipView{
		{ID: "c1", Camera: "door", State: "ready", Start: start},
		{ID: "c2", Camera: "gate", State: "failed", Error: "camera offline"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("clips = %+v, want %+v", got, want)
	}
	if !got[0].Playable() || got[1].Playable() || got[0].URL() != "/guard/clips/c1" {
		t.Errorf("playable %v %v, url %q", got[0].Playable(), got[1].Playable(), got[0].URL())
	}
}

// BenchmarkRenderIncidents renders one live update for one guard: ten open
// incidents with forty events each.
func BenchmarkRenderIncidents(b *testing.B) {
	s := kiosk.NewState()
	hist := fakeHistory{}
	now := time.Now()
	for i := range 10 {
		id := "inc-" + strings.Repeat("0", 15) + string(rune('a'+i))
		s.Incidents[id] = &kiosk.Incident{ID: id, Request: kiosk.Police, Status: kiosk.Accepted, Responder: "张伟",
			Presses: 3, RegisteredAt: now, CallbackDue: now.Add(5 * time.Minute), CloseDue: now.Add(24 * time.Hour), UpdatedAt: now}
		for seq := range 40 {
			hist[id] = append(hist[id], journal.Event{Seq: uint64(seq), Type: kiosk.EvNoteAdded, Time: now,
				Data: []byte(`{"by":"张伟","text":"已到现场，双方在店门口争执"}`)})
		}
	}
	g := &Guard{KioskID: "k1", History: hist, Now: time.Now, Online: func() bool { return true }, Log: slog.New(slog.DiscardHandler)}
	sess := guardauth.Session{User: "张伟", CSRF: "TOKEN"}
	for b.Loop() {
		if html := g.renderIncidents(s, sess); len(html) < 1000 {
			b.Fatal("nothing rendered")
		}
	}
}
