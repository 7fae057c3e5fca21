package screen

import (
	"embed"
	"io/fs"
	"net/http"
	"path"
	"time"

	"kioskd/kiosk"
)

// The citizen screen: plain HTML, CSS and JS and the voice prompts, all
// embedded; nothing is loaded from anywhere else.
//
//go:embed assets/citizen assets/voice
var citizenAssets embed.FS

// Citizen serves the citizen's touch screen on the kiosk's own listener: the
// page, its assets and voice prompts, and a live view of the citizens' calls.
// It adds no action of its own: calls and cancels are the Server's.
type Citizen struct {
	API    *Server     // the calls and cancels, and the controller's state
	Hub    *Hub        // live updates
	Online func() bool // whether the link to the platform is up now
}

// Register adds the citizen routes to mux.
func (c *Citizen) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /{$}", c.page)
	mux.HandleFunc("GET /citizen/{file}", serveAsset("assets/citizen"))
	mux.HandleFunc("GET /voice/{file}", serveAsset("assets/voice"))
	mux.HandleFunc("GET /api/citizen", c.view)
	mux.HandleFunc("GET /api/citizen/events", c.events)
}

func (c *Citizen) page(w http.ResponseWriter, r *http.Request) {
	b, err := citizenAssets.ReadFile("assets/citizen/index.html")
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	pageHeaders(w.Header())
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Write(b)
}

// pageHeaders lock the page to its own assets: no inline script, no frames,
// nothing from elsewhere.
func pageHeaders(h http.Header) {
	h.Set("Content-Security-Policy", "default-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-cache")
}

func serveAsset(dir string) http.HandlerFunc {
	sub, _ := fs.Sub(citizenAssets, dir) // dir is a constant embedded above
	return func(w http.ResponseWriter, r *http.Request) {
		name := r.PathValue("file")
		if _, err := fs.Stat(sub, name); err != nil {
			http.NotFound(w, r)
			return
		}
		pageHeaders(w.Header())
		if path.Ext(name) == ".ogg" { // not in Go's own type table
			w.Header().Set("Content-Type", "audio/ogg")
		}
		http.ServeFileFS(w, r, sub, name)
	}
}

// citizenView is what the citizen screen may know: the citizens' open calls
// and whether the platform is reachable. No faults, no tamper alarms, no
// outcomes, no internal sources.
type citizenView struct {
	Online bool          `json:"online"`
	Now    time.Time     `json:"now"`
	Calls  []citizenCall `json:"calls"`
}

type citizenCall struct {
	ID           string          `json:"id"`
	Request      kiosk.Request   `json:"request"`
	Status       kiosk.Status    `json:"status"`
	Delivered    bool            `json:"delivered"`
	Presses      int             `json:"presses"`
	Urgent       bool            `json:"urgent"`
	RegisteredAt time.Time       `json:"registered_at"`
	CallbackDue  time.Time       `json:"callback_due"`
	CallbackMet  bool            `json:"callback_met"`
	Overdue      []string        `json:"overdue"`
	Responder    string          `json:"responder,omitempty"`
	CallbackBy   time.Time       `json:"callback_by,omitzero"`
	Messages     []kiosk.Message `json:"messages"`
	UpdatedAt    time.Time       `json:"updated_at"`
}

// isCitizenCall reports whether in is a citizen's own call, the only kind
// the citizen screen shows or may cancel: not a tamper alarm, not a test.
func isCitizenCall(in *kiosk.Incident) bool {
	return in.Request != kiosk.Tamper && in.Request.Valid() && !in.Test
}

func (c *Citizen) viewOf(s kiosk.State) citizenView {
	v := citizenView{Online: c.Online(), Now: time.Now().UTC(), Calls: []citizenCall{}}
	for _, in := range s.Sorted() {
		if !isCitizenCall(in) {
			continue
		}
		v.Calls = append(v.Calls, citizenCall{
			ID: in.ID, Request: in.Request, Status: in.Status, Delivered: in.Delivered,
			Presses: in.Presses, Urgent: in.Urgency >= kiosk.Urgent, RegisteredAt: in.RegisteredAt,
			CallbackDue: in.CallbackDue, CallbackMet: in.CallbackMet,
			Overdue: append([]string{}, in.Overdue...), Responder: in.Responder,
			CallbackBy: in.CallbackBy, Messages: append([]kiosk.Message{}, in.Messages...),
			UpdatedAt: in.UpdatedAt,
		})
	}
	return v
}

func (c *Citizen) view(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, c.viewOf(c.API.Controller.State()))
}

func (c *Citizen) events(w http.ResponseWriter, r *http.Request) {
	c.Hub.ServeSSE(w, r, func(u Update) (string, any) { return "calls", c.viewOf(u.State) })
}
