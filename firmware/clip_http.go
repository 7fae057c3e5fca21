package firmware

import (
	"encoding/json"
	"errors"
	"io/fs"
	"net/http"

	"kioskd/kiosk/journal"
)

// cameraRoutes adds the camera and clip routes:
//
//	GET /api/cameras               every camera's health, as its child reports it, and its process
//	GET /api/clips/{id}?token=T    a finished clip's MP4 (Range requests served), with a token
func (cs *cameraSet) cameraRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/cameras", cs.serveCameras)
	mux.HandleFunc("GET /api/clips/{id}", cs.serveClip)
}

func (cs *cameraSet) serveCameras(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(cs.apiCameras()) // with the live relay's figures (relay_http.go)
}

func (cs *cameraSet) serveClip(w http.ResponseWriter, r *http.Request) {
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
	http.ServeContent(w, r, c.File, c.End, f)
}
