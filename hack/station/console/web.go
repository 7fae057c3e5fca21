package console

import (
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"strconv"
	"strings"
	"time"

	"kioskd/cloudlink/contract"
)

//go:embed web
var webFiles embed.FS

var page = template.Must(template.New("").Funcs(templateFuncs).ParseFS(webFiles, "web/*.html"))

// Handler serves the page, its live fragment, the JSON view, an SSE stream
// of changes, and the command endpoints.
func (c *Console) Handler() http.Handler {
	mux := http.NewServeMux()
	static, _ := fs.Sub(webFiles, "web/static")
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) { c.render(w, "page", c.View()) })
	mux.HandleFunc("GET /live", func(w http.ResponseWriter, r *http.Request) { c.render(w, "live", c.View()) })
	mux.HandleFunc("GET /api/view", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, http.StatusOK, c.View()) })
	mux.HandleFunc("GET /api/stream", c.stream)
	mux.HandleFunc("POST /api/commands", c.postCommandJSON)
	mux.HandleFunc("POST /commands", c.postCommandForm)
	c.registerRollouts(mux)
	if c.cfg.UploadDir != "" {
		uploads{dir: c.cfg.UploadDir}.register(mux)
	}
	return mux
}

func (c *Console) render(w http.ResponseWriter, name string, v View) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err := page.ExecuteTemplate(w, name, v); err != nil {
		c.log.Error("station: render", "template", name, "err", err)
	}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// stream sends "change" whenever the view may have changed, at most four
// times a second, until the client goes away.
func (c *Console) stream(w http.ResponseWriter, r *http.Request) {
	flusher, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	keepalive := time.NewTicker(20 * time.Second)
	defer keepalive.Stop()
	for {
		version, change := c.watch()
		fmt.Fprintf(w, "event: change\ndata: %d\n\n", version)
		flusher.Flush()
		select {
		case <-r.Context().Done():
			return
		case <-change:
		case <-keepalive.C:
		}
		select { // coalesce bursts
		case <-r.Context().Done():
			return
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// commandRequest is the JSON body of POST /api/commands.
type commandRequest struct {
	Kiosk string          `json:"kiosk"`
	Name  string          `json:"name"`
	Args  json.RawMessage `json:"args"`
}

func (c *Console) postCommandJSON(w http.ResponseWriter, r *http.Request) {
	var req commandRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(&req); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "body: not a command of at most 64 KB: " + err.Error()})
		return
	}
	c.answerSend(w, req.Kiosk, req.Name, req.Args)
}

// postCommandForm takes the page's action form. It answers JSON when asked
// to (the page's script), else redirects back to the incident.
func (c *Console) postCommandForm(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	name, kiosk := r.PostForm.Get("name"), r.PostForm.Get("kiosk")
	args, err := formArgs(name, r.PostForm.Get)
	if err == nil {
		err = checkArgs(name, args)
	}
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	if !strings.Contains(r.Header.Get("Accept"), "application/json") {
		_, _ = c.Send(kiosk, name, args)
		http.Redirect(w, r, "/#inc-"+r.PostForm.Get("incident"), http.StatusSeeOther)
		return
	}
	c.answerSend(w, kiosk, name, args)
}

func (c *Console) answerSend(w http.ResponseWriter, kiosk, name string, args any) {
	if !contract.ValidKioskID(kiosk) || name == "" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "kiosk and name are required"})
		return
	}
	if err := checkArgs(name, args); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	sent, err := c.Send(kiosk, name, args)
	switch {
	case sent.ID == "":
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
	case err != nil:
		writeJSON(w, http.StatusBadGateway, sent) // recorded, with its send error
	default:
		writeJSON(w, http.StatusAccepted, sent)
	}
}

// formArgs builds a command's args from the action form's fields.
func formArgs(name string, get func(string) string) (any, error) {
	incident, operator := get("incident"), strings.TrimSpace(get("operator"))
	switch name {
	case contract.CmdAccept:
		a := contract.AcceptArgs{Incident: incident, Responder: operator}
		if m := get("callback_min"); m != "" {
			n, err := strconv.Atoi(m)
			if err != nil || n < 1 || n > 24*60 {
				return nil, fmt.Errorf("callback_min %q: minutes from 1 to 1440", m)
			}
			a.CallbackBy = time.Now().Add(time.Duration(n) * time.Minute).UTC().Truncate(time.Second)
		}
		return a, nil
	case contract.CmdMessage:
		return contract.MessageArgs{Incident: incident, From: operator, Text: get("text")}, nil
	case contract.CmdEscalate:
		return contract.EscalateArgs{Incident: incident, By: operator, Reason: get("reason")}, nil
	case contract.CmdClose:
		return contract.CloseArgs{Incident: incident, By: operator, Outcome: get("outcome")}, nil
	case contract.CmdUploadClip:
		return contract.UploadClipArgs{Incident: incident, Clip: get("clip"), URL: get("url")}, nil
	case contract.CmdAcknowledgeRecovery:
		return contract.AcknowledgeRecoveryArgs{By: operator, Note: strings.TrimSpace(get("note"))}, nil
	}
	return nil, fmt.Errorf("unknown action %q", name)
}

// checkArgs refuses, before anything is signed, args the kiosk would answer
// bad_args (contract.DecodeArgs: required fields, the limits of every text).
// A command the contract has no args type for goes as it is: the kiosk
// judges it.
func checkArgs(name string, args any) error {
	v := contract.NewArgs(name)
	if v == nil {
		return nil
	}
	raw, ok := args.(json.RawMessage)
	if !ok {
		b, err := json.Marshal(args)
		if err != nil {
			return fmt.Errorf("args: %w", err)
		}
		raw = b
	}
	return contract.DecodeArgs(raw, v)
}
