// Package screen serves the kiosk's HTTP side: the JSON API that the citizen
// screen, the guard console and the tools read (state, health), and the
// citizen's own actions (a call by touch, a cancel).
package screen

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"kioskd/kiosk"
)

// Controller is the incident owner seen from the screens.
type Controller interface {
	State() kiosk.State
	Submit(ctx context.Context, in kiosk.Input) (string, error)
}

// Health is the daemon's self-report. AlarmPath is nil when a press would be
// journaled and relayed; the broker being away is reported, not ill health.
type Health struct {
	AlarmPath error
	Details   map[string]string // e.g. "journal": "ok", "controller": "ok"
	Link      any               // the cloud link's status, reported as it is
	// Status sums it up as the heartbeat does: ok, degraded (the alarm path
	// works but a journal recovery waits for a person) or unhealthy; ""
	// means ok or unhealthy, by AlarmPath.
	Status   string
	Recovery *kiosk.Recovery // the journal recovery waiting, or nil
}

// Server serves the API.
type Server struct {
	KioskID    string
	BootEpoch  uint64
	Controller Controller
	Health     func() Health
}

// Handler returns the API routes.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.HandleFunc("GET /api/state", s.state)
	mux.HandleFunc("POST /api/calls", s.call)
	mux.HandleFunc("POST /api/incidents/{id}/cancel", s.cancel)
	return mux
}

// healthz answers 503 only when the alarm path is broken. A degraded kiosk
// still takes presses, so it answers 200 and says degraded in the body.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	h := s.Health()
	body := map[string]any{"status": h.Status, "alarm_path": "ok", "details": h.Details, "link": h.Link}
	code := http.StatusOK
	if h.AlarmPath != nil {
		body["alarm_path"] = h.AlarmPath.Error()
		code = http.StatusServiceUnavailable
	}
	if h.Status == "" {
		body["status"] = map[bool]string{true: "ok", false: "unhealthy"}[h.AlarmPath == nil]
	}
	if h.Recovery != nil {
		body["journal_recovery"] = h.Recovery
	}
	writeJSON(w, code, body)
}

// stateView is GET /api/state: open incidents most urgent first, then oldest.
type stateView struct {
	Kiosk     string            `json:"kiosk"`
	BootEpoch uint64            `json:"boot_epoch"`
	Time      time.Time         `json:"time"`
	Incidents []*kiosk.Incident `json:"incidents"`
	Faults    []kiosk.Fault     `json:"faults"`
	Pattern   string            `json:"pattern"`
	Link      any               `json:"link"`
}

func (s *Server) state(w http.ResponseWriter, r *http.Request) {
	st := s.Controller.State()
	v := stateView{Kiosk: s.KioskID, BootEpoch: s.BootEpoch, Time: time.Now().UTC(),
		Incidents: st.Sorted(), Faults: []kiosk.Fault{}, Pattern: string(kiosk.Pattern(st)),
		Link: s.Health().Link}
	for _, f := range st.Faults {
		v.Faults = append(v.Faults, f)
	}
	slices.SortFunc(v.Faults, func(a, b kiosk.Fault) int { return cmp.Compare(a.Key, b.Key) })
	writeJSON(w, http.StatusOK, v)
}

// call is a touch on the screen: the same as pressing that request's button.
func (s *Server) call(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Request kiosk.Request `json:"request"`
	}
	err := decode(w, r, &body)
	if errors.As(err, new(*http.MaxBytesError)) {
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body over %d bytes", maxAPIBody))
		return
	}
	if err != nil || !slices.Contains(kiosk.Requests, body.Request) {
		writeError(w, http.StatusBadRequest, `body must be {"request": one of police, community, lawyer, market, labour}`)
		return
	}
	s.submit(w, r, kiosk.Press{Request: body.Request, Source: "screen"})
}

// cancel is the caller cancelling a mistaken call: only a citizen's own call
// (never a tamper alarm or a test), and it is kept, not deleted.
func (s *Server) cancel(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if in, ok := s.Controller.State().Incidents[id]; !ok || !isCitizenCall(in) { // an id of any length: looked up, never echoed
		writeError(w, http.StatusNotFound, "no such call")
		return
	}
	s.submit(w, r, kiosk.Cancel{Incident: id, By: "citizen"})
}

func (s *Server) submit(w http.ResponseWriter, r *http.Request, in kiosk.Input) {
	id, err := s.Controller.Submit(r.Context(), in)
	switch {
	case errors.Is(err, kiosk.ErrNotFound):
		writeError(w, http.StatusNotFound, err.Error())
	case errors.Is(err, kiosk.ErrRejected):
		writeError(w, http.StatusConflict, err.Error())
	case errors.Is(err, kiosk.ErrBadInput):
		writeError(w, http.StatusBadRequest, err.Error())
	case err != nil:
		writeError(w, http.StatusServiceUnavailable, err.Error())
	default:
		writeJSON(w, http.StatusOK, map[string]string{"incident": id})
	}
}

// maxAPIBody bounds a request's body: the citizen's calls are a few bytes.
const maxAPIBody = 4 << 10

func decode(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxAPIBody))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}
