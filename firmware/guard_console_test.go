package firmware_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"kioskd/cloudlink/contract"
	"kioskd/firmware/config"
	"kioskd/hack/brokertest"
	"kioskd/hack/fakecam/camsim"
	"kioskd/hack/screentest"
	"kioskd/kiosk/screen/guardauth/passwordhash"
)

// The guard console, end to end: the real kioskd in sim mode, a platform on
// a real mosquitto, and the console in a real headless Chromium.

const (
	guardName     = "张伟"
	guardPassword = "correct-horse-9"
)

var guardHash = func() string {
	h, err := passwordhash.New(guardPassword)
	if err != nil {
		panic(err)
	}
	return h
}()

// startGuardKiosk runs kioskd with the guard console on a free port and
// returns it with the console's base URL.
func startGuardKiosk(t *testing.T, broker string, edit ...func(*config.Config)) (*kioskProc, string) {
	t.Helper()
	addr := fmt.Sprintf("127.0.0.1:%d", brokertest.FreePort(t))
	cfgPath, httpAddr := simConfig(t, t.TempDir(), broker, append([]func(*config.Config){func(c *config.Config) {
		c.Guard.Listen = addr
		c.Guard.Users = []config.GuardUser{{Name: guardName, PasswordHash: guardHash}}
	}}, edit...)...)
	k := startKiosk(t, cfgPath, httpAddr)
	base := "http://" + addr
	waitListening(t, base+"/guard/login")
	return k, base
}

func waitListening(t *testing.T, u string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if resp, err := http.Get(u); err == nil {
			resp.Body.Close()
			return
		}
	}
	t.Fatalf("guard console not listening at %s within 10 s", u)
}

// console is the guard console open in a real headless Chromium.
type console struct {
	t    *testing.T
	ctx  context.Context
	base string
	dir  string
}

func openConsole(t *testing.T, base string) *console {
	return &console{t: t, ctx: screentest.Browser(t, 1440, 1000), base: base, dir: screentest.OutputDir(t)}
}

func (c *console) run(actions ...chromedp.Action) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(c.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Run(ctx, actions...); err != nil {
		c.t.Fatalf("browser: %v", err)
	}
}

func (c *console) eval(expr string, out any) { c.t.Helper(); c.run(chromedp.Evaluate(expr, out)) }

// wait polls a JavaScript condition for up to timeout.
func (c *console) wait(what, cond string, timeout time.Duration) {
	c.t.Helper()
	var ok bool
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(25 * time.Millisecond) {
		if err := chromedp.Run(c.ctx, chromedp.Evaluate("Boolean("+cond+")", &ok)); err == nil && ok {
			return
		}
	}
	var body string
	chromedp.Run(c.ctx, chromedp.Evaluate(`document.body ? document.body.innerText : ""`, &body))
	c.t.Fatalf("the console never showed %s; it shows:\n%s", what, body)
}

func (c *console) shot(name string) string {
	c.t.Helper()
	return screentest.Screenshot(c.t, c.ctx, c.dir, name)
}

// shotJPEG saves the visible page as a JPEG, small enough for a README.
func (c *console) shotJPEG(name string) string {
	c.t.Helper()
	var b []byte
	c.run(chromedp.ActionFunc(func(ctx context.Context) error {
		var err error
		b, err = page.CaptureScreenshot().WithFormat(page.CaptureScreenshotFormatJpeg).WithQuality(60).Do(ctx)
		return err
	}))
	path := filepath.Join(c.dir, name+".jpg")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		c.t.Fatal(err)
	}
	c.t.Logf("screenshot %s (%d KB)", path, len(b)>>10)
	return path
}

func (c *console) login(name, password string) {
	c.t.Helper()
	c.run(chromedp.Navigate(c.base+"/guard"), chromedp.WaitVisible(`input[name=name]`))
	c.run(
		chromedp.SetValue(`input[name=name]`, ""), chromedp.SendKeys(`input[name=name]`, name),
		chromedp.SendKeys(`input[name=password]`, password), chromedp.Click(`form button[type=submit]`),
	)
}

// card is a JavaScript expression for the first incident card.
const card = `document.querySelector("article.incident")`

// act fills an incident form's fields and presses its button.
func (c *console) act(action string, fields map[string]string) {
	c.t.Helper()
	form := fmt.Sprintf(`article.incident form[data-action=%q]`, action)
	for name, v := range fields {
		if strings.HasPrefix(v, "select:") {
			c.run(chromedp.SetValue(form+` [name=`+name+`]`, strings.TrimPrefix(v, "select:")))
		} else {
			c.run(chromedp.SendKeys(form+` [name=`+name+`]`, v))
		}
	}
	c.run(chromedp.Click(form + ` button[type=submit]`))
}

func TestGuardConsole(t *testing.T) {
	t.Parallel()
	broker := brokertest.Start(t)
	k, base := startGuardKiosk(t, broker.URL())
	plat := newPlatform(t, broker.URL(), true)
	c := openConsole(t, base)

	c.login(guardName, "wrong-password")
	c.wait("the wrong-password error", `document.querySelector(".login-error")`, 10*time.Second)
	var msg string
	c.eval(`document.querySelector(".login-error").innerText`, &msg)
	if !strings.Contains(msg, "用户名或密码错误") || !strings.Contains(msg, "Wrong name or password") {
		t.Errorf("wrong password: error %q, want the generic 用户名或密码错误 / Wrong name or password", msg)
	}
	c.shot("login-wrong-password")

	c.login(guardName, guardPassword)
	c.wait("the empty console", `document.querySelector(".empty")`, 10*time.Second)
	c.shot("console-empty")

	// A press shows up without a reload: the marker set now survives.
	c.eval(`window.noReload = 42`, new(int))
	k.press("police")
	c.wait("the new incident", card+` && `+card+`.innerText.includes("找警察")`, 10*time.Second)
	var marker int
	c.eval(`window.noReload || 0`, &marker)
	if marker != 42 {
		t.Fatal("the console reloaded the page to show the incident; want a live update")
	}
	c.wait("the call-back countdown", card+`.querySelector(".countdown").innerText.includes("还剩")`, 5*time.Second)
	c.shot("console-incident")

	c.act("accept", nil)
	c.wait("accepted by the guard", card+`.querySelector(".responder") && `+card+`.querySelector(".responder").innerText.includes("`+guardName+`")`, 10*time.Second)
	c.act("note", map[string]string{"text": "已到现场，双方在店门口争执"})
	c.wait("the note in the timeline", card+`.querySelector('li[data-type="incident.note_added"]') && `+card+`.innerText.includes("双方在店门口争执")`, 10*time.Second)
	c.act("handle", map[string]string{"outcome": "select:mediated"})
	c.wait("handled on site", card+`.querySelector(".badge.state").innerText.includes("已当场处置")`, 10*time.Second)
	c.shot("console-handled")
	c.act("escalate", map[string]string{"reason": "需要民警回访"})
	c.wait("escalated", card+`.querySelector(".badge.state").innerText.includes("已转派出所")`, 10*time.Second)

	// Close asks for a second press before it acts.
	c.act("close", nil)
	c.wait("the close confirmation", card+`.querySelector("button.armed")`, 5*time.Second)
	c.run(chromedp.Click(`article.incident form[data-action="close"] button[type=submit]`))
	c.wait("the incident gone", `!document.querySelector("article.incident") && document.querySelector(".empty")`, 10*time.Second)

	want := []struct{ typ, field, value string }{
		{"incident.accepted", "responder", guardName},
		{"incident.note_added", "by", guardName},
		{"incident.handled_on_site", "by", guardName},
		{"incident.escalated", "by", guardName},
		{"incident.closed", "by", guardName},
	}
	got := plat.waitEvents("every step of the guard", 10*time.Second, func(evs []contract.Event) bool {
		return len(ofType(evs, "incident.closed")) > 0
	})
	for _, w := range want {
		evs := ofType(got, w.typ)
		if len(evs) == 0 {
			t.Errorf("platform got no %s", w.typ)
			continue
		}
		var data map[string]any
		json.Unmarshal(evs[0].Data, &data)
		if data[w.field] != w.value {
			t.Errorf("%s: %s = %v, want %q", w.typ, w.field, data[w.field], w.value)
		}
	}
	handled := ofType(got, "incident.handled_on_site")
	if len(handled) > 0 && !strings.Contains(string(handled[0].Data), `"outcome":"mediated"`) {
		t.Errorf("handled_on_site data = %s, want outcome mediated", handled[0].Data)
	}
}

// TestGuardConsoleConnectionLost: the console says plainly when it has lost
// the kiosk, and a restarted kiosk (whose sessions are gone) sends the
// guard back to the login.
func TestGuardConsoleConnectionLost(t *testing.T) {
	t.Parallel()
	broker := brokertest.Start(t)
	k, base := startGuardKiosk(t, broker.URL())
	c := openConsole(t, base)
	c.login(guardName, guardPassword)
	k.press("lawyer")
	c.wait("the incident", card, 10*time.Second)
	c.wait("the live mark", `document.getElementById("conn").classList.contains("live")`, 5*time.Second)

	k.kill()
	c.wait("connection lost", `!document.getElementById("lost").hidden && document.getElementById("conn").innerText.includes("连接中断")`, 10*time.Second)
	c.wait("the incident still shown", card, time.Second)
	c.shot("console-connection-lost")

	k.start()
	c.wait("the login page after the restart", `location.pathname === "/guard/login" && document.querySelector(".notice")`, 30*time.Second)
}

func TestGuardConsoleSessionExpires(t *testing.T) {
	t.Parallel()
	broker := brokertest.Start(t)
	_, base := startGuardKiosk(t, broker.URL(), func(c *config.Config) {
		c.Guard.SessionIdle = config.Duration{Duration: 2 * time.Second}
	})
	c := openConsole(t, base)
	c.login(guardName, guardPassword)
	c.wait("the console", `document.querySelector(".empty")`, 10*time.Second)
	// The page's own live stream and checks do not keep the session alive.
	c.wait("the login page, session expired", `location.pathname === "/guard/login" && document.querySelector(".notice") && document.querySelector(".notice").innerText.includes("会话已过期")`, 20*time.Second)
	c.shot("login-expired")
}

// guardClient is a plain HTTP client logged in to the console, for what a
// browser would never send.
type guardClient struct {
	t    *testing.T
	base string
	http *http.Client
	csrf string
}

func newGuardClient(t *testing.T, base string) *guardClient {
	jar, _ := cookiejar.New(nil)
	return &guardClient{t: t, base: base, http: &http.Client{Jar: jar, Timeout: 10 * time.Second}}
}

var hiddenToken = regexp.MustCompile(`name="token" value="([A-Z0-9]+)"`)

// login posts the login form as a browser would, and returns the response
// status and body.
func (g *guardClient) login(name, password string) (int, string) {
	g.t.Helper()
	code, page := g.get("/guard/login")
	m := hiddenToken.FindStringSubmatch(page)
	if code != http.StatusOK || m == nil {
		g.t.Fatalf("login page: %d, no token in\n%s", code, page)
	}
	form := url.Values{"token": {m[1]}, "name": {name}, "password": {password}}
	req, _ := http.NewRequest("POST", g.base+"/guard/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", g.base)
	return g.do(req)
}

func (g *guardClient) get(path string) (int, string) {
	req, _ := http.NewRequest("GET", g.base+path, nil)
	return g.do(req)
}

func (g *guardClient) do(req *http.Request) (int, string) {
	g.t.Helper()
	resp, err := g.http.Do(req)
	if err != nil {
		g.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if m := regexp.MustCompile(`data-csrf="([A-Z0-9]+)"`).FindSubmatch(b); m != nil {
		g.csrf = string(m[1])
	}
	return resp.StatusCode, string(b)
}

// post sends an action with the given CSRF token and Origin ("" for none).
func (g *guardClient) post(path, token, origin string, form url.Values) int {
	g.t.Helper()
	if token != "" {
		form.Set("csrf", token)
	}
	req, _ := http.NewRequest("POST", g.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	code, _ := g.do(req)
	return code
}

func TestGuardConsoleRefusesCSRF(t *testing.T) {
	t.Parallel()
	broker := brokertest.Start(t)
	k, base := startGuardKiosk(t, broker.URL())
	plat := newPlatform(t, broker.URL(), true)
	g := newGuardClient(t, base)
	if code, body := g.login(guardName, guardPassword); code != http.StatusOK || g.csrf == "" {
		t.Fatalf("login: %d, csrf %q\n%s", code, g.csrf, body)
	}
	// The kiosk's own listener (the citizen screen's) has no console at all.
	for _, path := range []string{"/guard", "/guard/login", "/guard/static/guard.js"} {
		resp, err := http.Get(k.http + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s on the kiosk's listener: HTTP %d, want 404", path, resp.StatusCode)
		}
	}
	k.press("market")
	s := k.waitState("delivered", func(s kioskState) bool { return len(s.Incidents) == 1 && s.Incidents[0].Status == "delivered" })
	id := s.Incidents[0].ID
	note := url.Values{"text": {"不该被记录"}}
	tests := []struct {
		name, path, token, origin string
	}{
		{"no token", "/guard/incidents/" + id + "/note", "", base},
		{"wrong token", "/guard/incidents/" + id + "/note", "WRONGTOKEN", base},
		{"another site", "/guard/incidents/" + id + "/note", g.csrf, "http://evil.example"},
		{"accept, no token", "/guard/incidents/" + id + "/accept", "", ""},
		{"logout, no token", "/guard/logout", "", base},
	}
	for _, tt := range tests {
		if code := g.post(tt.path, tt.token, tt.origin, url.Values{"text": note["text"]}); code != http.StatusForbidden {
			t.Errorf("%s: HTTP %d, want 403", tt.name, code)
		}
	}
	// The same note with the token goes through: the refusals were for CSRF alone.
	if code := g.post("/guard/incidents/"+id+"/note", g.csrf, base, url.Values{"text": {"这条可以"}}); code != http.StatusOK {
		t.Fatalf("note with the token: HTTP %d, want 200", code)
	}
	plat.waitEvents("the one good note", 10*time.Second, func(evs []contract.Event) bool {
		return len(ofType(evs, "incident.note_added")) > 0
	})
	time.Sleep(500 * time.Millisecond) // anything wrongly journaled would have arrived with it
	evs := plat.received()
	if n := len(ofType(evs, "incident.note_added")); n != 1 {
		t.Errorf("platform got %d notes, want only the one with the token", n)
	}
	if n := len(ofType(evs, "incident.accepted")); n != 0 {
		t.Errorf("platform got %d accepts, want none", n)
	}
	if st := k.state(); st.Incidents[0].Status != "delivered" {
		t.Errorf("status = %s, want delivered (nothing accepted)", st.Incidents[0].Status)
	}
}

func TestGuardConsoleLockout(t *testing.T) {
	t.Parallel()
	broker := brokertest.Start(t)
	_, base := startGuardKiosk(t, broker.URL(), func(c *config.Config) { c.Guard.LockoutAfter = 3 })
	g := newGuardClient(t, base)

	_, unknown := g.login("nobody", guardPassword)
	_, wrong := g.login(guardName, "wrong-1")
	if errorOf(unknown) != errorOf(wrong) || !strings.Contains(errorOf(wrong), "用户名或密码错误") {
		t.Errorf("unknown name says %q, wrong password says %q: want one generic error", errorOf(unknown), errorOf(wrong))
	}
	for i := 2; i <= 3; i++ {
		if code, _ := g.login(guardName, fmt.Sprintf("wrong-%d", i)); code != http.StatusUnauthorized {
			t.Errorf("wrong password %d: HTTP %d, want 401", i, code)
		}
	}
	code, body := g.login(guardName, guardPassword)
	if code != http.StatusTooManyRequests || !strings.Contains(errorOf(body), "尝试次数过多") {
		t.Errorf("right password after 3 wrong: HTTP %d, %q; want 429 and the lockout message", code, errorOf(body))
	}
	if code, _ := g.get("/guard/session"); code != http.StatusUnauthorized {
		t.Errorf("session after a locked-out login: HTTP %d, want 401", code)
	}
}

var loginError = regexp.MustCompile(`class="login-error" role="alert">([^<]*)<`)

func errorOf(page string) string {
	if m := loginError.FindStringSubmatch(page); m != nil {
		return m[1]
	}
	return ""
}

// TestGuardConsoleOrder: the most urgent first, then the overdue, then the
// oldest; an overdue deadline is shown plainly.
func TestGuardConsoleOrder(t *testing.T) {
	t.Parallel()
	broker := brokertest.Start(t)
	k, base := startGuardKiosk(t, broker.URL(), func(c *config.Config) {
		c.Incidents.CallbackWithin = config.Duration{Duration: 4 * time.Second}
	})
	newPlatform(t, broker.URL(), true)
	c := openConsole(t, base)
	c.login(guardName, guardPassword)
	c.wait("the console", `document.querySelector(".empty")`, 10*time.Second)

	k.press("community")
	c.wait("the first call", card, 10*time.Second)
	c.act("accept", nil) // accepted in time: never overdue
	k.press("lawyer")
	c.wait("the lawyer call overdue", `[...document.querySelectorAll("article.incident")].some(a => a.innerText.includes("找律师") && a.querySelector(".badge.overdue"))`, 15*time.Second)
	k.pressFor("police", 3500) // a long press: urgent
	c.wait("three calls", `document.querySelectorAll("article.incident").length === 3 && document.querySelector(".badge.urgent")`, 15*time.Second)

	var order []string
	c.eval(`[...document.querySelectorAll("article.incident h2")].map(h => h.firstChild.textContent.trim())`, &order)
	if want := []string{"找警察", "找律师", "找社区"}; strings.Join(order, ",") != strings.Join(want, ",") {
		t.Errorf("order = %v, want %v (urgent, then overdue, then the rest)", order, want)
	}
	var overdue string
	c.eval(`[...document.querySelectorAll("article.incident")][1].querySelector(".countdown.over").innerText`, &overdue)
	if !strings.Contains(overdue, "已超时") || !strings.Contains(overdue, "OVERDUE") {
		t.Errorf("the overdue call-back shows %q, want 已超时 … OVERDUE", overdue)
	}
	c.shot("console-three-calls")
	c.shotJPEG("console-three-calls")
}

// TestGuardConsoleCameras: each camera's honest health, and an incident's
// clip playable in place through the console's own route.
func TestGuardConsoleCameras(t *testing.T) {
	t.Parallel()
	broker := brokertest.Start(t)
	cams := startFakeCams(t, "door")
	k, base := startGuardKiosk(t, broker.URL(), withCameras(cams))
	newPlatform(t, broker.URL(), true)
	c := openConsole(t, base)
	c.login(guardName, guardPassword)
	c.wait("the door camera online", `document.querySelector('.camera.online[data-camera="door"]')`, 20*time.Second)

	k.press("police")
	clip := card + `.querySelector(".clip video")`
	c.wait("the clip, ready to play", clip, 20*time.Second)
	c.wait("the clip's video loaded", clip+`.readyState >= 1 && `+clip+`.duration > 1`, 10*time.Second)
	var src string
	c.eval(clip+`.getAttribute("src")`, &src)
	if !strings.HasPrefix(src, "/guard/clips/") || strings.Contains(src, "token") {
		t.Errorf("clip src = %q, want the console's own route, without a token", src)
	}
	c.shot("console-clip")

	// Without a session the clip route refuses.
	resp, err := http.Get(base + src)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("clip without a session: HTTP %d, want 401", resp.StatusCode)
	}

	cams["door"].SetMode(camsim.Stall)
	c.wait("the door camera shown without video", `document.querySelector('.camera[data-camera="door"]:not(.online)')`, 30*time.Second)
	c.shot("console-camera-down")
}
