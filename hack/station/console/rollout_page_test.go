package console

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"kioskd/hack/brokertest"
	"kioskd/hack/screentest"
)

// TestRolloutPageInChromium: on the console page in a real Chromium, the
// operator self-tests one kiosk from its row and sees it pass, then picks
// another kiosk, pastes a release and starts an update, and sees the
// kiosk's refusal and its reason.
func TestRolloutPageInChromium(t *testing.T) {
	broker := brokertest.Start(t)
	c, stationKey := startConsole(t, broker.URL(), "station", time.Minute)
	web := httptest.NewServer(c.Handler())
	t.Cleanup(web.Close) // after the browser's cleanup has ended its live stream
	releasePub, releasePriv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	startInProcessKiosks(t, broker.URL(), stationKey, writePublicKey(t, releasePub), "k-a", "k-b")
	waitFor(t, "both kiosks' heartbeats", func() bool { return heartbeatVersions(c) == "k-a 1.2.0, k-b 1.2.0" })
	release, _ := json.MarshalIndent(signedRelease(t, releasePriv, "1.1.0"), "", "  ")

	ctx := screentest.Browser(t, 1440, 1000)
	out := screentest.OutputDir(t)
	run := func(what string, actions ...chromedp.Action) {
		t.Helper()
		step, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		if err := chromedp.Run(step, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	run("open the console", chromedp.Navigate(web.URL), chromedp.WaitVisible(`#live tr[data-kiosk="k-a"]`))
	run("self-test k-a from its row",
		chromedp.Click(`button[data-selftest="k-a"]`),
		chromedp.WaitVisible(`#rollouts tr[data-kiosk="k-a"][data-result="passed"]`))

	run("start an update of k-b",
		chromedp.Click(`#rollout-form input[name=kind][value=update]`),
		chromedp.SetValue(`#rollout-form textarea[name=release]`, string(release)),
		chromedp.Click(`button[data-pick="k-b"]`),
		chromedp.Click(`#rollout-start`),
		chromedp.WaitVisible(`#rollouts tr[data-kiosk="k-b"][data-result="rejected"]`))
	var reason, formError string
	run("read the reason",
		chromedp.Text(`#rollouts tr[data-kiosk="k-b"][data-result="rejected"] .t-reason`, &reason),
		chromedp.Text(`#rollout-error`, &formError),
		chromedp.ScrollIntoView(`#rollouts`))
	if reason != "downgrade" || formError != "" {
		t.Errorf("k-b's row says %q, the form %q; want downgrade and no form error", reason, formError)
	}
	screentest.Screenshot(t, ctx, out, "rollouts")
}
