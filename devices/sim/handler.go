package sim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"time"
)

// Hold limits for POST /api/sim/buttons/{name}/press.
const (
	DefaultHoldMS = 100
	MaxHoldMS     = 120_000
)

// Handler serves the sim API that moves simulated buttons and the tamper
// switch:
//
//	POST /api/sim/buttons/{name}/press  body {"hold_ms": 3000}, optional
//	POST /api/sim/buttons/{name}/down   hold until up
//	POST /api/sim/buttons/{name}/up
//	POST /api/sim/tamper/open
//	POST /api/sim/tamper/close
//
// Replies are JSON; accepted moves answer 202. tamper may be nil.
func Handler(buttons map[string]*Button, tamper *Tamper) http.Handler {
	h := &handler{buttons: maps.Clone(buttons), tamper: tamper}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/sim/buttons/{name}/press", h.press)
	mux.HandleFunc("POST /api/sim/buttons/{name}/down", h.move(true))
	mux.HandleFunc("POST /api/sim/buttons/{name}/up", h.move(false))
	mux.HandleFunc("POST /api/sim/tamper/open", h.setTamper(true))
	mux.HandleFunc("POST /api/sim/tamper/close", h.setTamper(false))
	return mux
}

type handler struct {
	buttons map[string]*Button
	tamper  *Tamper
}

func (h *handler) press(w http.ResponseWriter, r *http.Request) {
	b, ok := h.button(w, r)
	if !ok {
		return
	}
	holdMS, err := readHold(w, r)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": err.Error()})
		return
	}
	b.Press(time.Duration(holdMS) * time.Millisecond)
	writeJSON(w, http.StatusAccepted, map[string]any{"button": b.Name(), "hold_ms": holdMS})
}

func (h *handler) move(down bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		b, ok := h.button(w, r)
		if !ok {
			return
		}
		state := "up"
		if down {
			b.Down()
			state = "down"
		} else {
			b.Up()
		}
		writeJSON(w, http.StatusAccepted, map[string]any{"button": b.Name(), "state": state})
	}
}

func (h *handler) setTamper(open bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if h.tamper == nil {
			writeJSON(w, http.StatusNotFound, map[string]any{"error": "no simulated tamper switch"})
			return
		}
		state := "closed"
		if open {
			h.tamper.Open()
			state = "open"
		} else {
			h.tamper.Close()
		}
		writeJSON(w, http.StatusAccepted, map[string]any{"tamper": state})
	}
}

// button finds the button named in the path, or answers 404 with the names
// that do exist.
func (h *handler) button(w http.ResponseWriter, r *http.Request) (*Button, bool) {
	name := r.PathValue("name")
	if b, ok := h.buttons[name]; ok {
		return b, true
	}
	writeJSON(w, http.StatusNotFound, map[string]any{
		"error": fmt.Sprintf("unknown button %q", name),
		"known": slices.Sorted(maps.Keys(h.buttons)),
	})
	return nil, false
}

// readHold reads the optional {"hold_ms": n} body; an empty body or a
// missing field means DefaultHoldMS.
func readHold(w http.ResponseWriter, r *http.Request) (int64, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<10))
	if err != nil {
		return 0, fmt.Errorf("read body: %w", err)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return DefaultHoldMS, nil
	}
	var req struct {
		HoldMS *int64 `json:"hold_ms"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return 0, fmt.Errorf("bad JSON body: %w", err)
	}
	if err := dec.Decode(new(json.RawMessage)); err != io.EOF {
		return 0, fmt.Errorf("bad JSON body: more than one value")
	}
	switch {
	case req.HoldMS == nil:
		return DefaultHoldMS, nil
	case *req.HoldMS < 0 || *req.HoldMS > MaxHoldMS:
		return 0, fmt.Errorf("hold_ms %d out of range 0 to %d", *req.HoldMS, MaxHoldMS)
	}
	return *req.HoldMS, nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	// The status is sent; a failed write means the client went away.
	_ = json.NewEncoder(w).Encode(v)
}
