package screen

import (
	"bytes"
	"context"
	"html/template"
	"net/http"
	"time"

	"kioskd/kiosk"
	"kioskd/kiosk/screen/guardauth"
)

// sessionRecheck is how often a live connection checks its session is
// still live; one that has ended closes the stream.
const sessionRecheck = 2 * time.Second

// page is the console itself, rendered whole so it shows at once; the live
// stream then keeps its incident list current.
func (g *Guard) page(w http.ResponseWriter, r *http.Request, s guardauth.Session, _ string) {
	var buf bytes.Buffer
	if err := guardTemplates.ExecuteTemplate(&buf, "console.html", g.view(g.Controller.State(), s.User, s.CSRF)); err != nil {
		g.Log.Error("guard console: render page", "err", err)
		http.Error(w, "could not render the console: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Write(buf.Bytes())
}

// events streams the incident list, rendered for this guard, as Server-Sent
// Events: one "incidents" event (a JSON string of HTML) per journaled step
// and per change of the platform link. The stream ends when the session does.
func (g *Guard) events(w http.ResponseWriter, r *http.Request, s guardauth.Session, token string) {
	ctx, cancel := g.whileSession(r.Context(), token)
	defer cancel()
	g.Hub.ServeSSE(w, r.WithContext(ctx), func(u Update) (string, any) {
		return "incidents", g.renderIncidents(u.State, s)
	})
}

// whileSession returns a context that ends when ctx does or when the
// session of token ends (checked every sessionRecheck), so a long stream
// never outlives its guard's logout or expiry.
func (g *Guard) whileSession(ctx context.Context, token string) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	go func() {
		t := time.NewTicker(sessionRecheck)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if _, ok := g.Auth.Session(token, false); !ok {
					cancel()
					return
				}
			}
		}
	}()
	return ctx, cancel
}

// renderIncidents renders the incident list of the console for one guard.
func (g *Guard) renderIncidents(st kiosk.State, s guardauth.Session) string {
	var buf bytes.Buffer
	if err := guardTemplates.ExecuteTemplate(&buf, "incidents", g.view(st, s.User, s.CSRF)); err != nil {
		g.Log.Error("guard console: render incidents", "err", err)
		return `<p class="error">could not render the incidents: ` + template.HTMLEscapeString(err.Error()) + `</p>`
	}
	return buf.String()
}
