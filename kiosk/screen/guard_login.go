package screen

import (
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"net/http"

	"kioskd/kiosk"
	"kioskd/kiosk/screen/guardauth"
)

// The login form carries a token that must match a cookie set with the
// form (a double submit): together with the cross-origin check, another
// site cannot log the office PC in under an account of its choosing.
const loginCookie = "kioskd_guard_login"

type loginView struct {
	KioskID string
	Token   string
	Name    string
	Error   string // already in both languages
	Notice  string
}

func (g *Guard) loginPage(w http.ResponseWriter, r *http.Request) {
	v := loginView{KioskID: g.KioskID}
	switch {
	case r.URL.Query().Has("expired"):
		v.Notice = "会话已过期，请重新登录 · Your session has expired; please log in again."
	case r.URL.Query().Has("out"):
		v.Notice = "已退出 · You have logged out."
	}
	g.renderLogin(w, http.StatusOK, v)
}

// renderLogin shows the form with a fresh login token.
func (g *Guard) renderLogin(w http.ResponseWriter, code int, v loginView) {
	v.Token = rand.Text()
	http.SetCookie(w, &http.Cookie{
		Name: loginCookie, Value: v.Token, Path: "/guard/login", MaxAge: 3600,
		HttpOnly: true, Secure: g.TLS, SameSite: http.SameSiteStrictMode,
	})
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	if err := guardTemplates.ExecuteTemplate(w, "login.html", v); err != nil {
		g.Log.Error("guard console: render login", "err", err)
	}
}

func (g *Guard) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	name, password := r.PostFormValue("name"), r.PostFormValue("password")
	// Logged and shown again cut to a name's bound; the login itself takes
	// the name as typed, which matches no configured name if it is longer.
	shown := kiosk.NameLimit.Cut(name)
	v := loginView{KioskID: g.KioskID, Name: shown}
	c, _ := r.Cookie(loginCookie)
	if c == nil || subtle.ConstantTimeCompare([]byte(c.Value), []byte(r.PostFormValue("token"))) != 1 {
		v.Error = "登录表单已失效，请重试 · The login form had expired; please try again."
		g.renderLogin(w, http.StatusForbidden, v)
		return
	}
	token, s, err := g.Auth.Login(r.Context(), name, password, clientAddr(r))
	var locked *guardauth.LockedOutError
	switch {
	case errors.As(err, &locked):
		g.Log.Warn("guard console: login refused, locked out", "name", shown, "addr", clientAddr(r), "until", locked.Until)
		v.Error = "尝试次数过多，请于 " + locked.Until.Local().Format("15:04") + " 后再试 · Too many failed attempts; try again after " + locked.Until.Local().Format("15:04") + "."
		g.renderLogin(w, http.StatusTooManyRequests, v)
	case err != nil:
		g.Log.Info("guard console: login refused", "name", shown, "addr", clientAddr(r), "err", err)
		v.Error = "用户名或密码错误 · Wrong name or password."
		g.renderLogin(w, http.StatusUnauthorized, v)
	default:
		g.Log.Info("guard console: login", "name", s.User, "addr", clientAddr(r))
		http.SetCookie(w, &http.Cookie{Name: loginCookie, Path: "/guard/login", MaxAge: -1})
		g.setSessionCookie(w, token, 0)
		http.Redirect(w, r, "/guard", http.StatusSeeOther)
	}
}

func (g *Guard) logout(w http.ResponseWriter, r *http.Request, s guardauth.Session, token string) {
	g.Auth.Logout(token)
	g.Log.Info("guard console: logout", "name", s.User, "addr", clientAddr(r))
	g.setSessionCookie(w, "", -1)
	http.Redirect(w, r, "/guard/login?out=1", http.StatusSeeOther)
}
