package screen

import (
	"net/http"

	"kioskd/kiosk/screen/guardauth"
)

// The cameras' live view in the console: GET /guard/live/{camera} streams
// the camera's fragmented MP4 from the kiosk's live relay, behind the
// guard's session, for the page's Media Source Extensions player
// (assets/guard/static/live.js). The stream ends when the session does.

// videoRoutes adds the live view route when the kiosk has a relay.
func (g *Guard) videoRoutes(mux *http.ServeMux) {
	if g.LiveVideo == nil {
		return
	}
	mux.HandleFunc("GET /guard/live/{camera}", g.withSession(false, g.liveVideo))
}

func (g *Guard) liveVideo(w http.ResponseWriter, r *http.Request, _ guardauth.Session, token string) {
	ctx, cancel := g.whileSession(r.Context(), token)
	defer cancel()
	g.LiveVideo(w, r.WithContext(ctx), r.PathValue("camera"))
}
