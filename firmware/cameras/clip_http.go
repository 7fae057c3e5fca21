package cameras

import (
	"encoding/json"
	"errors"
	"io/fs"
	"net/http"
	"time"

	"kioskd/kiosk/journal"
	"kioskd/kiosk/screen"
)

// Routes adds the camera route of the kiosk's own listener:
//
//	GET /api/cameras               every camera's health, as its child reports it, and its process
func (cs *Set) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/cameras", cs.serveCameras)
}

// Console gives the guard console the cameras: their health, their clips
// (served in-process, behind the guard's session) and their live view. A
// post without cameras gives nothing, and the console shows none.
func (cs *Set) Console(g *screen.Guard) {
	if cs == nil || len(cs.cams) == 0 {
		return
	}
	clips := http.NewServeMux()
	cs.clipRoutes(clips, false) // a guard's viewing is not the platform's copy
	g.CameraHealth, g.Clips, g.ClipPath = cs.ConsoleHealth, clips, cs.clipDownload
	g.LiveVideo = cs.serveLiveMP4 // see relay_http.go
}

// clipRoutes adds the clip route, served to the platform by the clip
// server (clip_fetch.go, platform set: a clip it sends whole is held by the
// platform, clip_fetched.go) and to the guard console in-process, never on
// the listener of the citizen screen:
//
//	GET /api/clips/{id}?token=T    a finished clip's MP4 (Range requests served), with a token
func (cs *Set) clipRoutes(mux *http.ServeMux, platform bool) {
	mux.HandleFunc("GET /api/clips/{id}", func(w http.ResponseWriter, r *http.Request) {
		cs.serveClip(w, r, platform)
	})
}

func (cs *Set) serveCameras(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(cs.apiCameras()) // with the live relay's figures (relay_http.go)
}

func (cs *Set) serveClip(w http.ResponseWriter, r *http.Request, platform bool) {
	id := r.PathValue("id")
	if err := cs.tokens.Check("clip", id, r.URL.Query().Get("token")); err != nil {
		http.Error(w, "forbidden: "+err.Error(), http.StatusForbidden)
		return
	}
	c, f, err := cs.openClip(id)
	switch {
	case errors.Is(err, journal.ErrNoClip), errors.Is(err, fs.ErrNotExist):
		http.Error(w, "no such clip", http.StatusNotFound)
		return
	case err != nil:
		cs.log.Error("serve clip", "clip", id, "err", err)
		http.Error(w, "clip unreadable", http.StatusInternalServerError)
		return
	}
	defer f.Close()
	w.Header().Set("Content-Type", "video/mp4")
	w.Header().Set("Cache-Control", "private, no-store")
	w.Header().Set("X-Content-SHA256", c.SHA256)
	if !platform || r.Method != http.MethodGet {
		http.ServeContent(w, r, c.File, c.End, f)
		return
	}
	cw := &countingWriter{ResponseWriter: w}
	http.ServeContent(cw, r, c.File, c.End, f)
	if s, ok := sentRange(cw, c.Bytes); ok && cs.fetched.add(id, s.from, s.to, c.Bytes) {
		if _, err := cs.journal.MarkClipFetched(id, time.Now()); err != nil {
			cs.log.Error("clip fetched whole but not marked so; its file is kept", "clip", id, "err", err)
		}
	}
}
