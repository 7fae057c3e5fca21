package firmware_test

import (
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"kioskd/hack/brokertest"
)

// watchRegistered is injected by the test, not part of the screen: arm()
// notes the time, and a MutationObserver notes when a new call is first
// shown as registered. A touch arms itself on pointerdown.
const watchRegistered = `(() => {
  window.__lat = { start: 0, prev: "", ms: -1 };
  window.__arm = () => {
    window.__lat = { start: performance.now(), prev: document.getElementById("call").dataset.id || "", ms: -1 };
  };
  const seen = () => {
    const L = window.__lat, call = document.getElementById("call");
    if (!L.start || L.ms >= 0 || call.hidden || !call.dataset.id || call.dataset.id === L.prev) return;
    if (call.querySelector('.steps li[data-step="registered"]').classList.contains("done") &&
        document.getElementById("headline").innerText.includes("已登记")) L.ms = performance.now() - L.start;
  };
  new MutationObserver(seen).observe(document.body, { subtree: true, childList: true, attributes: true, characterData: true });
  document.addEventListener("pointerdown", () => window.__arm(), true);
  return true;
})()`

// TestCitizenScreenRegisteredWithin300ms measures, in the browser, a press
// (the sim button API, and a touch on the screen) to the screen showing the
// new call as registered, over 20 presses of each, and logs p50 and p99:
//
//	go test -run TestCitizenScreenRegisteredWithin300ms -count 5 -v ./firmware | grep 'press →'
func TestCitizenScreenRegisteredWithin300ms(t *testing.T) {
	if testing.Short() {
		t.Skip("40 presses through a real browser; not in -short")
	}
	broker := brokertest.Start(t)
	cfg, httpAddr := simConfig(t, t.TempDir(), broker.URL())
	k := startKiosk(t, cfg, httpAddr)
	newPlatform(t, broker.URL(), true)
	s := openScreen(t, k, 1920, 1080)
	var ok bool
	s.eval(watchRegistered, &ok)

	buttons := []string{"police", "community", "lawyer", "market", "labour"}
	var pressed, touched []time.Duration
	for i := range 20 {
		b := buttons[i%len(buttons)]
		s.eval(fmt.Sprintf(`window.__arm(), fetch("/api/sim/buttons/%s/press", {method: "POST", body: '{"hold_ms": 40}'}), true`, b), &ok)
		pressed = append(pressed, s.registeredAfter(k))
	}
	for i := range 20 {
		s.run(chromedp.Click(fmt.Sprintf(`.tile[data-request=%q]`, buttons[i%len(buttons)])))
		touched = append(touched, s.registeredAfter(k))
	}
	for _, m := range []struct {
		how string
		got []time.Duration
	}{{"button (sim API)", pressed}, {"touch", touched}} {
		p50, p99 := percentile(m.got, 50), percentile(m.got, 99)
		t.Logf("press → registered on screen, %s, n=%d: p50 %v, p99 %v, max %v", m.how, len(m.got), p50.Round(100*time.Microsecond), p99.Round(100*time.Microsecond), slices.Max(m.got).Round(100*time.Microsecond))
		// The median is held to the 300 ms promise; the tail only to 2 s, as
		// this machine is shared and a test is no benchmark (hack/test.sh
		// runs it under -race). The figures are logged for the record.
		if p50 > 300*time.Millisecond || slices.Max(m.got) > 2*time.Second {
			t.Errorf("%s: p50 %v, max %v; want p50 within 300ms and every press within 2s", m.how, p50, slices.Max(m.got))
		}
	}
}

// registeredAfter waits for the armed measurement, then cancels the call so
// the next press opens a new one, and goes back to the menu.
func (s *screen) registeredAfter(k *kioskProc) time.Duration {
	s.t.Helper()
	s.wait("the new call registered", `window.__lat.ms >= 0`)
	var ms float64
	s.eval(`window.__lat.ms`, &ms)
	id := s.attr("#call", "id")
	resp, err := http.Post(k.http+"/api/incidents/"+id+"/cancel", "application/json", nil)
	if err != nil || resp.StatusCode != http.StatusOK {
		s.t.Fatalf("cancel %s: %v %v", id, err, resp)
	}
	resp.Body.Close()
	s.waitStage("cancelled")
	s.run(chromedp.Click("#back"))
	s.wait("the menu", `document.body.dataset.view === "idle" && !document.querySelector(".tile").disabled`)
	return time.Duration(ms * float64(time.Millisecond))
}

// percentile is the nearest-rank percentile of d.
func percentile(d []time.Duration, p int) time.Duration {
	s := slices.Sorted(slices.Values(d))
	i := (p*len(s) + 99) / 100
	return s[max(i-1, 0)]
}
