package firmware_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"kioskd/cloudlink/contract"
	"kioskd/firmware/config"
	"kioskd/hack/brokertest"
	"kioskd/hack/screentest"
)

// screen is the citizen screen open in a real headless Chromium.
type screen struct {
	t   *testing.T
	ctx context.Context
	url string
	dir string // screenshots
}

func openScreen(t *testing.T, k *kioskProc, width, height int) *screen {
	t.Helper()
	s := &screen{t: t, ctx: screentest.Browser(t, width, height), url: k.http + "/", dir: screentest.OutputDir(t)}
	s.run(chromedp.Navigate(s.url))
	s.wait("the page connected to its live stream", `document.getElementById("link").dataset.state !== "unknown"`)
	return s
}

func (s *screen) run(actions ...chromedp.Action) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(s.ctx, 15*time.Second)
	defer cancel()
	if err := chromedp.Run(ctx, actions...); err != nil {
		s.t.Fatalf("browser: %v", err)
	}
}

// eval returns the value of a JavaScript expression in the page.
func (s *screen) eval(expr string, out any) {
	s.t.Helper()
	s.run(chromedp.Evaluate(expr, out))
}

func (s *screen) text(sel string) string {
	var v string
	s.eval(fmt.Sprintf(`document.querySelector(%q).innerText`, sel), &v)
	return v
}

// wait polls a JavaScript condition for up to 10 s.
func (s *screen) wait(what, cond string) {
	s.t.Helper()
	var ok bool
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if s.eval("Boolean("+cond+")", &ok); ok {
			return
		}
	}
	var data string
	s.eval(`JSON.stringify(document.body.dataset)`, &data)
	s.t.Fatalf("the screen never showed %s; body data %s; it shows:\n%s", what, data, s.text("body"))
}

// waitStage waits until the call on screen is at stage (registered, onsite,
// delivered, accepted, overdue, cancelled, ...).
func (s *screen) waitStage(stage string) {
	s.t.Helper()
	s.wait("stage "+stage, fmt.Sprintf(`!document.getElementById("call").hidden && document.getElementById("call").dataset.stage === %q`, stage))
}

func (s *screen) shot(name string) { s.t.Helper(); screentest.Screenshot(s.t, s.ctx, s.dir, name) }

func wantText(t *testing.T, where, got string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("%s = %q, want it to contain %q", where, got, w)
		}
	}
}

func refuseText(t *testing.T, where, got string, refused ...string) {
	t.Helper()
	for _, r := range refused {
		if strings.Contains(got, r) {
			t.Errorf("%s = %q; it must not say %q", where, got, r)
		}
	}
}

// TestCitizenScreenCallLifecycle follows one call by button through
// registered, delivered (the platform acked), accepted with the responder
// and the countdown, a station message, English, and a cancel with confirm;
// then a touch on the screen opens a second call.
func TestCitizenScreenCallLifecycle(t *testing.T) {
	t.Parallel()
	broker := brokertest.Start(t)
	cfg, httpAddr := simConfig(t, t.TempDir(), broker.URL())
	k := startKiosk(t, cfg, httpAddr)
	plat := newPlatform(t, broker.URL(), false)
	s := openScreen(t, k, 1920, 1080)

	s.wait("the idle menu", `document.body.dataset.view === "idle"`)
	wantText(t, "idle screen", s.text("#idle"), "找警察", "找社区", "找律师", "市场监管", "劳动监察")
	wantText(t, "link", s.text("#link"), "平台已连接")
	s.shot("idle")
	s.run(chromedp.EmulateViewport(1080, 1920))
	s.shot("idle-portrait")
	s.run(chromedp.EmulateViewport(1920, 1080))

	k.press("police")
	s.waitStage("registered")
	refuseText(t, "registered status", s.text("#status"), "已送达")
	s.shot("registered")
	ackRegistered(plat, 1)
	s.waitStage("delivered")
	wantText(t, "steps", s.text(".steps"), "已登记", "已送达平台")
	wantText(t, "status", s.text("#status"), "已送达平台", "值班人员将在")
	id := s.attr("#call", "id")

	s.checkReply(plat, contract.CmdAccept, contract.AcceptArgs{Incident: id, Responder: "王警官"})
	s.waitStage("accepted")
	wantText(t, "accepted status", s.text("#status"), "王警官 已受理", "值班人员将在5分钟内与您联系")
	s.wait("a running countdown", `/\d:\d\d/.test(document.getElementById("countdown").innerText)`)
	s.shot("accepted")

	s.checkReply(plat, contract.CmdMessage, contract.MessageArgs{Incident: id, From: "城东派出所", Text: "民警正在赶来，请在原地稍候。"})
	s.wait("the station's message", `document.getElementById("messages").innerText.includes("民警正在赶来")`)
	wantText(t, "messages", s.text("#messages"), "城东派出所", "民警正在赶来，请在原地稍候。")
	s.wait("the message prompt", `document.body.dataset.said.endsWith("message")`)
	wantText(t, "prompts", s.attr("body", "said"), "registered delivered accepted5 message")
	s.wait("a prompt really playing in Chromium", `document.body.dataset.voicePlaying`)
	s.shot("message")
	s.run(chromedp.EmulateViewport(1080, 1920))
	s.shot("message-portrait")
	s.run(chromedp.EmulateViewport(1280, 800))
	s.shot("message-tablet")
	s.run(chromedp.EmulateViewport(1920, 1080))
	s.wait("the cancel button within the screen", `document.getElementById("cancel").getBoundingClientRect().bottom <= innerHeight`)

	s.run(chromedp.Click("#lang"))
	s.wait("English", `document.getElementById("headline").innerText === "Accepted by 王警官"`)
	wantText(t, "English status", s.text("#status"), "Staff will contact you within 5 minutes")
	s.shot("english")
	s.run(chromedp.Reload())
	s.wait("English kept after a reload", `document.getElementById("lang").innerText === "中文" && document.getElementById("headline").innerText === "Accepted by 王警官"`)
	s.run(chromedp.Click("#lang"))
	s.wait("Chinese again", `document.getElementById("headline").innerText === "王警官 已受理"`)

	s.cancelWithConfirm(id)
	plat.waitEvents("incident.cancelled", 5*time.Second, func(evs []contract.Event) bool {
		return len(ofType(evs, "incident.cancelled")) == 1
	})
	if st := k.state(); len(st.Incidents) != 1 || st.Incidents[0].Status != "cancelled" {
		t.Errorf("after the cancel the kiosk holds %+v, want the call kept as cancelled", st.Incidents)
	}

	s.run(chromedp.Click("#back"))
	s.wait("the menu", `document.body.dataset.view === "idle"`)
	s.run(chromedp.Click(`.tile[data-request="community"]`))
	s.wait("the touched call", `document.getElementById("call-type").innerText === "找社区"`)
	ackRegistered(plat, 2)
	s.waitStage("delivered")
}

// ackRegistered waits for the n-th incident.registered and acks every event
// received so far, as the platform would.
func ackRegistered(plat *platform, n int) {
	got := plat.waitEvents("registered calls", 5*time.Second, func(evs []contract.Event) bool {
		return len(ofType(evs, "incident.registered")) >= n
	})
	var ids []string
	for _, ev := range got {
		ids = append(ids, ev.ID)
	}
	plat.ack(ids...)
}

func (s *screen) attr(sel, name string) string {
	s.t.Helper()
	var v string
	s.eval(fmt.Sprintf(`document.querySelector(%q).dataset[%q] || ""`, sel, name), &v)
	return v
}

func (s *screen) checkReply(plat *platform, name string, args any) {
	s.t.Helper()
	if r := plat.waitReply(plat.command(name, args)); !r.OK {
		s.t.Fatalf("%s: reply %+v, want ok", name, r)
	}
}

// cancelWithConfirm: the first answer is "no" (nothing happens), the second "yes".
func (s *screen) cancelWithConfirm(id string) {
	s.t.Helper()
	s.run(chromedp.Click("#cancel"))
	s.wait("the confirm step", `!document.getElementById("confirm").hidden`)
	s.shot("cancel-confirm")
	s.run(chromedp.Click("#confirm-no"))
	s.wait("the confirm closed", `document.getElementById("confirm").hidden`)
	time.Sleep(300 * time.Millisecond)
	if got := s.attr("#call", "stage"); got != "accepted" {
		s.t.Fatalf("after answering no the call is %q, want still accepted", got)
	}
	s.run(chromedp.Click("#cancel"))
	s.wait("the confirm step", `!document.getElementById("confirm").hidden`)
	s.run(chromedp.Click("#confirm-yes"))
	s.waitStage("cancelled")
	wantText(s.t, "cancelled status", s.text("#status"), "呼叫已取消", "记录已保留")
	s.shot("cancelled")
	if got := s.attr("#call", "id"); got != id {
		s.t.Errorf("the screen shows call %q after the cancel, want %q", got, id)
	}
}

// TestCitizenScreenOfflineIsHonest: with no broker the call is registered on
// site and the guard alerted; the screen never says it reached anyone.
func TestCitizenScreenOfflineIsHonest(t *testing.T) {
	t.Parallel()
	brokertest.RequireMosquitto(t)
	nowhere := fmt.Sprintf("tcp://127.0.0.1:%d", brokertest.FreePort(t))
	cfg, httpAddr := simConfig(t, t.TempDir(), nowhere)
	k := startKiosk(t, cfg, httpAddr)
	s := openScreen(t, k, 1920, 1080)
	s.wait("the offline link", `document.getElementById("link").dataset.state === "offline"`)

	k.press("labour")
	s.waitStage("onsite")
	status := s.text("#status")
	wantText(t, "offline status", status, "已在本站登记", "已通知现场保安")
	refuseText(t, "offline status", status, "已送达", "警察已", "已通知民警", "已通知派出所")
	if s.hasClass(`.steps li[data-step="delivered"]`, "done") {
		t.Errorf("the delivered step is marked done while offline")
	}
	wantText(t, "link", s.text("#link"), "平台未连接")
	s.wait("the on-site prompt", `document.body.dataset.said === "onsite"`)
	s.shot("offline")
	s.run(chromedp.Click("#lang"))
	s.wait("English", `document.getElementById("headline").innerText === "Registered here"`)
	wantText(t, "English offline status", s.text("#status"), "guard on site has been alerted")
	s.shot("offline-english")

	k.kill() // the screen loses kioskd itself: it says so, and where to turn
	s.wait("the lost-connection banner", `!document.getElementById("banner").hidden && document.getElementById("link").dataset.state === "lost"`)
	wantText(t, "banner", s.text("#banner"), "ask the guard on site")
}

func (s *screen) hasClass(sel, class string) bool {
	s.t.Helper()
	var v bool
	s.eval(fmt.Sprintf(`document.querySelector(%q).classList.contains(%q)`, sel, class), &v)
	return v
}

// TestCitizenListenerRefusesGuardURLs: the citizen's listener has no guard
// or admin route, whatever URL is typed, and cancels only citizens' calls.
func TestCitizenListenerRefusesGuardURLs(t *testing.T) {
	t.Parallel()
	brokertest.RequireMosquitto(t)
	cfg, httpAddr := simConfig(t, t.TempDir(), fmt.Sprintf("tcp://127.0.0.1:%d", brokertest.FreePort(t)))
	k := startKiosk(t, cfg, httpAddr)
	resp, err := http.Post(k.http+"/api/sim/tamper/open", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	tamper := k.waitState("a tamper alarm", func(s kioskState) bool { return len(s.Incidents) == 1 }).Incidents[0].ID

	tests := []struct{ method, path string }{
		{"GET", "/guard"}, {"GET", "/guard/"}, {"GET", "/guard/login"}, {"POST", "/guard/login"},
		{"GET", "/guard/api/incidents"}, {"GET", "/admin"}, {"GET", "/admin/"}, {"GET", "/debug/pprof/"},
		{"GET", "/api/guard/state"}, {"POST", "/api/incidents/" + tamper + "/accept"},
		{"POST", "/api/incidents/" + tamper + "/close"}, {"POST", "/api/incidents/" + tamper + "/cancel"},
		{"GET", "/citizen/"}, {"GET", "/citizen/nope.js"}, {"GET", "/voice/"}, {"GET", "/index.html"},
	}
	for _, tt := range tests {
		req, _ := http.NewRequest(tt.method, k.http+tt.path, strings.NewReader("{}"))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s %s = %d, want 404", tt.method, tt.path, resp.StatusCode)
		}
	}
	if st := k.state(); st.Incidents[0].Status != "registered" {
		t.Errorf("the tamper alarm is %q after the citizen's attempts, want registered", st.Incidents[0].Status)
	}

	s := openScreen(t, k, 1280, 800)
	s.run(chromedp.Navigate(k.http + "/guard"))
	wantText(t, "/guard in the browser", s.text("body"), "404 page not found")
}

// TestCitizenScreenOverdueIsShown: a missed call-back promise is said
// plainly, and stays said after a late accept.
func TestCitizenScreenOverdueIsShown(t *testing.T) {
	t.Parallel()
	broker := brokertest.Start(t)
	cfg, httpAddr := simConfig(t, t.TempDir(), broker.URL(), func(c *config.Config) {
		c.Incidents.CallbackWithin = config.Duration{Duration: 2 * time.Second}
	})
	k := startKiosk(t, cfg, httpAddr)
	plat := newPlatform(t, broker.URL(), true)
	s := openScreen(t, k, 1920, 1080)

	k.press("market")
	s.waitStage("overdue")
	wantText(t, "overdue status", s.text("#status"), "已超过承诺时间，尚未受理", "已再次提醒值班人员")
	if tone := s.attr("#status", "tone"); tone != "bad" {
		t.Errorf("overdue tone = %q, want bad", tone)
	}
	s.wait("the overdue prompt", `document.body.dataset.said.endsWith("overdue")`)
	s.shot("overdue")

	s.checkReply(plat, contract.CmdAccept, contract.AcceptArgs{Incident: s.attr("#call", "id"), Responder: "李保安"})
	s.waitStage("accepted")
	wantText(t, "late accept", s.text("#status"), "李保安 已受理", "约定联系时间已过", "请告诉现场保安")
}
