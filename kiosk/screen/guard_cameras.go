package screen

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"time"

	"kioskd/kiosk"
	"kioskd/kiosk/journal"
	"kioskd/kiosk/screen/guardauth"
)

// CameraHealth is one camera's health as the console shows it: what its
// child process last reported, never better than that.
type CameraHealth struct {
	ID        string
	State     string // online, degraded or offline
	Problem   string
	Since     time.Time
	LastFrame time.Time
	FPS       float64
	Width     int
	Height    int
}

// clipView is one clip of an incident, as its clip.* events tell it.
type clipView struct {
	ID     string
	Camera string
	State  string // recording, ready, failed, uploaded
	Start  time.Time
	Error  string
}

// Playable: the file is complete and kept.
func (c clipView) Playable() bool { return c.State == "ready" || c.State == "uploaded" }

// URL is the console's own route to the clip, behind the guard's session.
func (c clipView) URL() string { return "/guard/clips/" + url.PathEscape(c.ID) }

// cameraRoutes adds the guard-side clip route when the kiosk has clips to
// serve. The browser never sees a clip token: the console mints one per
// request and asks the kiosk API itself.
func (g *Guard) cameraRoutes(mux *http.ServeMux) {
	if g.Clips == nil || g.ClipPath == nil {
		return
	}
	mux.HandleFunc("GET /guard/clips/{id}", g.withSession(false, g.clip))
}

func (g *Guard) clip(w http.ResponseWriter, r *http.Request, _ guardauth.Session, _ string) {
	u, err := url.Parse(g.ClipPath(r.PathValue("id")))
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	inner := r.Clone(r.Context())
	inner.URL, inner.RequestURI = u, u.RequestURI()
	g.Clips.ServeHTTP(w, inner)
}

// cameras returns the cameras' health, or nil when the post has none.
func (g *Guard) cameras() []CameraHealth {
	if g.CameraHealth == nil {
		return nil
	}
	return g.CameraHealth()
}

// clipsOf reads the clips of an incident from its events: the last event
// of each clip says where it stands.
func clipsOf(events []journal.Event) []clipView {
	var order []string
	byID := map[string]*clipView{}
	for _, ev := range events {
		if !strings.HasPrefix(ev.Type, "clip.") {
			continue
		}
		var d struct {
			Clip kiosk.Clip `json:"clip"`
		}
		if json.Unmarshal(ev.Data, &d) != nil || d.Clip.ID == "" {
			continue
		}
		c := byID[d.Clip.ID]
		if c == nil {
			c = &clipView{ID: d.Clip.ID}
			byID[c.ID] = c
			order = append(order, c.ID)
		}
		c.Camera, c.Error = d.Clip.Camera, d.Clip.Error
		if !d.Clip.Start.IsZero() {
			c.Start = d.Clip.Start
		}
		if d.Clip.State != "" && ev.Type != kiosk.EvClipUploadFailed {
			c.State = d.Clip.State
		}
	}
	out := make([]clipView, 0, len(order))
	for _, id := range order {
		out = append(out, *byID[id])
	}
	return out
}
