package console

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"kioskd/cloudlink/contract"
	"kioskd/hack/brokertest"
	"kioskd/hack/screentest"
)

// A kiosk whose heartbeat says degraded shows as such, with the button that
// acknowledges its journal recovery; the page's form sends the signed
// acknowledge_recovery command with the operator's name.
func TestDegradedKioskAndItsAcknowledgement(t *testing.T) {
	c, pub, cmds := degradedKiosk(t)
	srv := httptest.NewServer(c.Handler())
	defer srv.Close()
	res, err := http.Get(srv.URL + "/live")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	for _, want := range []string{`class="degraded" data-kiosk="k1"`, "journal.db.broken-x", `data-action="acknowledge_recovery"`, "hb-degraded"} {
		if !strings.Contains(string(page), want) {
			t.Errorf("the live page does not show %q for a degraded kiosk", want)
		}
	}

	form := url.Values{"name": {contract.CmdAcknowledgeRecovery}, "kiosk": {"k1"}, "operator": {"王警官"}, "note": {"已核对"}}
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/commands", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusAccepted {
		t.Fatalf("POST /commands: %s, want 202", res.Status)
	}
	cmd, err := contract.OpenCommand(brokertest.Next(t, cmds, waitLong).Payload, []ed25519.PublicKey{pub})
	if err != nil {
		t.Fatal(err)
	}
	if cmd.Name != contract.CmdAcknowledgeRecovery || string(cmd.Args) != `{"by":"王警官","note":"已核对"}` {
		t.Errorf("sent %s %s, want acknowledge_recovery by 王警官", cmd.Name, cmd.Args)
	}
}

// degradedKiosk starts a station and plays kiosk k1, whose retained
// heartbeat says degraded; it returns the station, its key and k1's commands.
func degradedKiosk(t *testing.T) (*Console, ed25519.PublicKey, <-chan brokertest.Message) {
	broker := brokertest.Start(t)
	c, pub := startConsole(t, broker.URL(), "station", time.Minute)
	kiosk := brokertest.Connect(t, broker.URL())
	cmds := kiosk.Subscribe("gongzhi/v1/k1/cmd")
	hb, _ := json.Marshal(contract.Heartbeat{V: 1, Kiosk: "k1", BootEpoch: 2, Time: time.Now(), AlarmPathHealthy: true,
		Status: contract.StatusDegraded, Faults: []string{"journal_recovered"}, Cameras: []contract.CameraStatus{},
		JournalRecovery: &contract.JournalRecovery{SetAside: "/var/lib/kioskd/journal.db.broken-x", Since: time.Now()}})
	kiosk.Publish("gongzhi/v1/k1/heartbeat", hb, true)
	waitFor(t, "the heartbeat on the console", func() bool {
		v := c.View()
		return len(v.Kiosks) == 1 && v.Kiosks[0].Heartbeat != nil
	})
	return c, pub, cmds
}

// TestDegradedKioskInChromium: the operator acknowledges the recovery from
// the degraded kiosk's banner, through the page's dialog, in a real Chromium.
func TestDegradedKioskInChromium(t *testing.T) {
	c, pub, cmds := degradedKiosk(t)
	web := httptest.NewServer(c.Handler())
	t.Cleanup(web.Close) // after the browser's cleanup has ended its live stream
	ctx := screentest.Browser(t, 1440, 1000)
	run := func(what string, actions ...chromedp.Action) {
		t.Helper()
		step, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		if err := chromedp.Run(step, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	banner := `#live section.degraded[data-kiosk="k1"]`
	run("open the console", chromedp.Navigate(web.URL), chromedp.WaitVisible(banner))
	screentest.Screenshot(t, ctx, screentest.OutputDir(t), "station-degraded")
	run("acknowledge from the banner",
		chromedp.Click(banner+` button[data-action="acknowledge_recovery"]`),
		chromedp.WaitVisible(`#act fieldset[data-for="acknowledge_recovery"] input[name=note]`),
		chromedp.SendKeys(`#act-form input[name=operator]`, "王警官"),
		chromedp.SendKeys(`#act-form input[name=note]`, "已核对"),
		chromedp.Click(`#act-send`))
	cmd, err := contract.OpenCommand(brokertest.Next(t, cmds, waitLong).Payload, []ed25519.PublicKey{pub})
	if err != nil {
		t.Fatal(err)
	}
	if cmd.Name != contract.CmdAcknowledgeRecovery || cmd.Kiosk != "k1" || string(cmd.Args) != `{"by":"王警官","note":"已核对"}` {
		t.Errorf("sent %s to %s with %s, want acknowledge_recovery to k1 by 王警官", cmd.Name, cmd.Kiosk, cmd.Args)
	}
}
