package screen

import (
	"context"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"time"

	"kioskd/kiosk"
	"kioskd/kiosk/journal"
	"kioskd/kiosk/screen/guardauth"
)

// The guard console: a login, the open incidents with their deadlines and
// timelines, the guard's actions, the cameras and clips, updated live. It is
// served at /guard on a listener of its own, for the post's office PC; every
// page and asset is embedded.
//
//go:embed assets/guard
var guardAssets embed.FS

var guardTemplates = template.Must(template.New("guard").Funcs(guardFuncs).ParseFS(guardAssets, "assets/guard/*.html"))

// IncidentHistory is the journal as the console reads it: every event of one
// incident, in seq order.
type IncidentHistory interface {
	IncidentEvents(id string) ([]journal.Event, error)
}

// Guard serves the guard console. Set the fields, then call Handler.
type Guard struct {
	KioskID    string
	Controller Controller
	History    IncidentHistory
	Auth       *guardauth.Auth
	Hub        *Hub
	Now        func() time.Time // kiosk time, which the deadlines are in
	Online     func() bool      // whether the link to the platform is up now
	TLS        bool             // served over HTTPS: cookies are Secure
	// The cameras, all optional: their health, the kiosk API that serves
	// GET /api/clips/{id}?token=..., and a clip's path there with a fresh token.
	CameraHealth func() []CameraHealth
	Clips        http.Handler
	ClipPath     func(id string) string
	Log          *slog.Logger
	// LiveVideo streams a camera's live fMP4 from the kiosk's relay (guard_video.go).
	LiveVideo func(w http.ResponseWriter, r *http.Request, camera string)
}

// submitTimeout bounds how long an action waits for the controller.
const submitTimeout = 10 * time.Second

// Handler returns the console's routes, behind the cross-origin check that
// refuses a change posted from another site.
func (g *Guard) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/guard", http.StatusSeeOther)
	})
	mux.HandleFunc("GET /guard/login", g.loginPage)
	mux.HandleFunc("POST /guard/login", g.login)
	mux.HandleFunc("POST /guard/logout", g.withSession(true, g.logout))
	mux.HandleFunc("GET /guard", g.withSession(true, g.page))
	mux.HandleFunc("GET /guard/session", g.withSession(false, g.sessionInfo))
	mux.HandleFunc("GET /guard/events", g.withSession(false, g.events))
	mux.HandleFunc("POST /guard/incidents/{id}/{action}", g.withSession(true, g.action))
	mux.HandleFunc("POST /guard/recovery/acknowledge", g.withSession(true, g.acknowledgeRecovery))
	g.cameraRoutes(mux)
	g.videoRoutes(mux)
	assets, _ := fs.Sub(guardAssets, "assets/guard/static") // a directory embedded above
	mux.Handle("GET /guard/static/", http.StripPrefix("/guard/static/", http.FileServerFS(assets)))
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusForbidden, "cross-origin request refused / 跨站请求被拒绝")
	}))
	return g.headers(cop.Handler(mux))
}

// headers lock every response to the console's own assets.
func (g *Guard) headers(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; media-src 'self' blob:; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Cache-Control", "no-store")
		if g.TLS {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		next.ServeHTTP(w, r)
	})
}

// sessionHandler serves a request of a logged-in guard.
type sessionHandler func(w http.ResponseWriter, r *http.Request, s guardauth.Session, token string)

// withSession lets through requests with a live session. touch: the request
// is the guard's own doing and restarts the idle timeout; background
// refreshes do not. A change must also carry the session's CSRF token.
func (g *Guard) withSession(touch bool, h sessionHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, _ := r.Cookie(g.cookieName())
		var token string
		if c != nil {
			token = c.Value
		}
		s, ok := g.Auth.Session(token, touch)
		switch {
		case !ok && r.Method == http.MethodGet && r.URL.Path == "/guard":
			to := "/guard/login"
			if token != "" {
				to += "?expired=1"
			}
			http.Redirect(w, r, to, http.StatusSeeOther)
		case !ok:
			writeError(w, http.StatusUnauthorized, "not logged in, or the session has expired / 未登录或会话已过期")
		case r.Method == http.MethodPost && parseForm(w, r) != nil:
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("表单过大或无法读取 · The form is over %d KB or could not be read.", maxFormBytes>>10))
		case r.Method == http.MethodPost && !s.CheckCSRF(csrfOf(r)):
			writeError(w, http.StatusForbidden, "missing or wrong CSRF token; reload the page / 请刷新页面")
		default:
			h(w, r, s, token)
		}
	}
}

// maxFormBytes bounds a guard's form: the longest note (3,000 bytes),
// percent-encoded, fits many times over.
const maxFormBytes = 64 << 10

// parseForm reads a change's form, at most maxFormBytes of it, before
// anything looks at it: a form cut short must not pass for an empty one.
func parseForm(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	return r.ParseForm()
}

// csrfOf is the token a change carries, in its header or its form.
func csrfOf(r *http.Request) string {
	if t := r.Header.Get("X-CSRF-Token"); t != "" {
		return t
	}
	return r.PostFormValue("csrf")
}

// cookieName is the session cookie's name; over HTTPS it takes the
// __Host- prefix, which the browser only accepts Secure, for /, from this host.
func (g *Guard) cookieName() string {
	if g.TLS {
		return "__Host-kioskd_guard"
	}
	return "kioskd_guard"
}

func (g *Guard) setSessionCookie(w http.ResponseWriter, token string, maxAge int) {
	http.SetCookie(w, &http.Cookie{
		Name: g.cookieName(), Value: token, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: g.TLS, SameSite: http.SameSiteStrictMode,
	})
}

func (g *Guard) sessionInfo(w http.ResponseWriter, r *http.Request, s guardauth.Session, _ string) {
	writeJSON(w, http.StatusOK, map[string]string{"user": s.User})
}

// submit hands one of the guard's actions to the controller.
func (g *Guard) submit(r *http.Request, in kiosk.Input) error {
	ctx, cancel := context.WithTimeout(r.Context(), submitTimeout)
	defer cancel()
	_, err := g.Controller.Submit(ctx, in)
	return err
}

// clientAddr is the address a login is throttled by: the peer, since the
// console is served directly, never through a proxy.
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
