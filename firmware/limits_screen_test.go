package firmware_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"kioskd/cloudlink/contract"
	"kioskd/hack/brokertest"
)

// The widest texts the contract lets through: its widest CJK character and
// a long unbroken string, each at its limit.
var (
	wideName     = strings.Repeat("龘", contract.MaxNameRunes)
	unbrokenName = strings.Repeat("W", contract.MaxNameRunes)
	wideMessage  = strings.Repeat("龘", contract.MaxMessageRunes)
	unbrokenText = strings.Repeat("W", contract.MaxMessageRunes)
	unbrokenWhy  = strings.Repeat("W", contract.MaxReasonRunes)
)

// inViewJS is a JavaScript function: for each selector, every element it
// matches must have a size, lie wholly inside the viewport and be what the
// browser shows at its centre (not covered by anything). It returns the
// problems, "" when there are none.
const inViewJS = `(sels) => {
  const out = [];
  for (const sel of sels) {
    const els = [...document.querySelectorAll(sel)];
    if (els.length === 0) out.push(sel + ": none on the page");
    for (const el of els) {
      const r = el.getBoundingClientRect();
      const where = sel + " " + JSON.stringify({l: r.left, t: r.top, r: r.right, b: r.bottom});
      if (r.width < 1 || r.height < 1) { out.push(where + ": no size"); continue; }
      if (r.left < 0 || r.top < 0 || r.right > innerWidth || r.bottom > innerHeight) {
        out.push(where + ": outside the " + innerWidth + "x" + innerHeight + " viewport"); continue;
      }
      const top = document.elementFromPoint((r.left + r.right) / 2, (r.top + r.bottom) / 2);
      if (!top || !(el === top || el.contains(top))) out.push(where + ": covered by " + (top ? top.outerHTML.slice(0, 80) : "nothing"));
    }
  }
  if (document.documentElement.scrollWidth > innerWidth) out.push("the page is " + document.documentElement.scrollWidth + " px wide, wider than the viewport");
  return out.join("\n");
}`

func inViewExpr(sels ...string) string {
	quoted := make([]string, len(sels))
	for i, s := range sels {
		quoted[i] = fmt.Sprintf("%q", s)
	}
	return "(" + inViewJS + ")([" + strings.Join(quoted, ",") + "])"
}

// TestCitizenScreenLongTexts: with a responder and messages at their limits
// (the widest CJK characters, and long unbroken strings) the citizen screen
// still shows the countdown and both buttons, uncovered and inside the
// screen, in landscape, portrait and on a tablet.
func TestCitizenScreenLongTexts(t *testing.T) {
	t.Parallel()
	broker := brokertest.Start(t)
	cfg, httpAddr := simConfig(t, t.TempDir(), broker.URL())
	k := startKiosk(t, cfg, httpAddr)
	plat := newPlatform(t, broker.URL(), false)
	s := openScreen(t, k, 1920, 1080)

	k.press("police")
	s.waitStage("registered")
	ackRegistered(plat, 1)
	s.waitStage("delivered")
	id := s.attr("#call", "id")
	s.checkReply(plat, contract.CmdAccept, contract.AcceptArgs{Incident: id, Responder: wideName})
	s.checkReply(plat, contract.CmdMessage, contract.MessageArgs{Incident: id, From: unbrokenName, Text: unbrokenText})
	s.checkReply(plat, contract.CmdMessage, contract.MessageArgs{Incident: id, From: wideName, Text: wideMessage})
	s.waitStage("accepted")
	s.wait("both messages", `document.querySelectorAll("#message-list li").length === 2`)

	for _, v := range []struct {
		name string
		w, h int64
	}{{"landscape", 1920, 1080}, {"portrait", 1080, 1920}, {"tablet", 1280, 800}} {
		s.run(chromedp.EmulateViewport(v.w, v.h))
		s.wait("a running countdown", `/\d:\d\d/.test(document.getElementById("countdown").innerText)`)
		s.shot("long-texts-" + v.name)
		var problems string
		s.eval(inViewExpr("#countdown b", "#cancel", "#back"), &problems)
		if problems != "" {
			t.Errorf("%s %dx%d:\n%s", v.name, v.w, v.h, problems)
		}
	}
}

// TestGuardConsoleLongTexts: the guard console with a responder, messages, a
// reason and a note at their limits still shows the close countdown and
// every action button, uncovered, and the page does not grow sideways.
func TestGuardConsoleLongTexts(t *testing.T) {
	t.Parallel()
	broker := brokertest.Start(t)
	k, base := startGuardKiosk(t, broker.URL())
	plat := newPlatform(t, broker.URL(), true)
	k.press("police")
	st := k.waitState("delivered", func(s kioskState) bool { return len(s.Incidents) == 1 && s.Incidents[0].Delivered })
	id := st.Incidents[0].ID
	for _, c := range []struct {
		name string
		args any
	}{
		{contract.CmdAccept, contract.AcceptArgs{Incident: id, Responder: unbrokenName}},
		{contract.CmdMessage, contract.MessageArgs{Incident: id, From: wideName, Text: wideMessage}},
		{contract.CmdMessage, contract.MessageArgs{Incident: id, From: unbrokenName, Text: unbrokenText}},
	} {
		if r := plat.waitReply(plat.command(c.name, c.args)); !r.OK {
			t.Fatalf("%s: %+v", c.name, r)
		}
	}

	c := openConsole(t, base)
	c.login(guardName, guardPassword)
	// The countdown's text is the console's script at work: only then does
	// it take over the forms (a plain form post would leave the page).
	c.wait("the incident, its script running", card+` && `+card+`.querySelectorAll('li[data-type="incident.message"]').length === 2 && `+
		card+`.querySelector(".countdown").innerText.includes("还剩")`, 10*time.Second)
	c.submit("note", "text", strings.Repeat("龘", contract.MaxNoteRunes))
	c.wait("the note", card+`.querySelector('li[data-type="incident.note_added"]')`, 10*time.Second)
	c.submit("escalate", "reason", unbrokenWhy)
	c.wait("escalated", card+`.querySelector(".badge.state").innerText.includes("已转派出所")`, 10*time.Second)

	// The toast that confirms an action floats over the page for 3 s; it
	// covers what is under it on purpose, so wait it out.
	c.wait("the toast gone", `document.getElementById("toast").hidden`, 5*time.Second)
	for _, w := range []int64{1440, 1024, 800} {
		c.run(chromedp.EmulateViewport(w, 1000))
		// Scroll and measure in one script: the live console may replace the
		// card between two steps of the browser driver.
		var problems, more string
		c.eval(`document.querySelector("article.incident .facts").scrollIntoView({block: "start"}), `+
			inViewExpr(`article.incident .countdown`, `article.incident header h2`), &problems)
		c.eval(`document.querySelector('article.incident form[data-action="close"] button').scrollIntoView({block: "end"}), `+
			inViewExpr(`article.incident .actions button`), &more)
		c.shot(fmt.Sprintf("long-texts-%d", w))
		if p := strings.TrimSpace(problems + "\n" + more); p != "" {
			t.Errorf("width %d:\n%s", w, p)
		}
	}
}

// submit fills one field of an incident's action form and submits it, in
// one script, so that a live re-render cannot come between the two.
func (c *console) submit(action, field, value string) {
	c.t.Helper()
	var ok bool
	c.eval(fmt.Sprintf(`(() => {
  const f = document.querySelector('article.incident form[data-action=%q]');
  if (!f) return false;
  f.elements[%q].value = %s;
  f.querySelector('button[type=submit]').click();
  return true;
})()`, action, field, mustJSON(c.t, value)), &ok)
	if !ok {
		c.t.Fatalf("no %s form on the incident", action)
	}
}

// TestGuardConsoleRefusesLongTexts: the console's HTTP API answers 400 with
// the limit to a note or a reason over it, and 413 to a form over 64 KB;
// nothing is journaled.
func TestGuardConsoleRefusesLongTexts(t *testing.T) {
	t.Parallel()
	broker := brokertest.Start(t)
	k, base := startGuardKiosk(t, broker.URL())
	plat := newPlatform(t, broker.URL(), true)
	g := newGuardClient(t, base)
	if code, body := g.login(guardName, guardPassword); code != http.StatusOK || g.csrf == "" {
		t.Fatalf("login: %d\n%s", code, body)
	}
	k.press("market")
	st := k.waitState("delivered", func(s kioskState) bool { return len(s.Incidents) == 1 && s.Incidents[0].Delivered })
	path := "/guard/incidents/" + st.Incidents[0].ID + "/"
	tests := []struct {
		name, action, field, value string
		code                       int
		says                       string
	}{
		{"a note one character over", "note", "text", strings.Repeat("龘", contract.MaxNoteRunes+1), http.StatusBadRequest, "1000"},
		{"a note with an escape", "note", "text", "ok\x1b[2J", http.StatusBadRequest, "control"},
		{"a note of invalid UTF-8", "note", "text", "\xff\xfe", http.StatusBadRequest, "UTF-8"},
		{"a reason one over", "escalate", "reason", strings.Repeat("W", contract.MaxReasonRunes+1), http.StatusBadRequest, "500"},
		{"a form of 80 KB", "note", "text", strings.Repeat("x", 80<<10), http.StatusRequestEntityTooLarge, "64 KB"},
	}
	for _, tt := range tests {
		code, body := g.postBody(path+tt.action, url.Values{tt.field: {tt.value}})
		if code != tt.code || !strings.Contains(body, tt.says) {
			t.Errorf("%s: HTTP %d %.300s; want %d saying %q", tt.name, code, body, tt.code, tt.says)
		}
	}
	if code, _ := g.postBody(path+"note", url.Values{"text": {strings.Repeat("龘", contract.MaxNoteRunes)}}); code != http.StatusOK {
		t.Fatalf("a note at its limit: HTTP %d", code)
	}
	evs := plat.waitEvents("the one note", 10*time.Second, func(evs []contract.Event) bool {
		return len(ofType(evs, "incident.note_added")) > 0
	})
	if n, m := len(ofType(evs, "incident.note_added")), len(ofType(evs, "incident.escalated")); n != 1 || m != 0 {
		t.Errorf("platform got %d notes and %d escalations, want only the note at its limit", n, m)
	}
}

// postBody posts an action with the session's CSRF token and returns the
// status and the body.
func (g *guardClient) postBody(path string, form url.Values) (int, string) {
	g.t.Helper()
	form.Set("csrf", g.csrf)
	req, _ := http.NewRequest("POST", g.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", g.base)
	return g.do(req)
}
