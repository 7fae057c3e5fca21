package console

import (
	"crypto/ed25519"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"kioskd/cloudlink/contract"
	"kioskd/hack/brokertest"
)

// A kiosk whose heartbeat says degraded shows as such, with the button that
// acknowledges its journal recovery; the page's form sends the signed
// acknowledge_recovery command with the operator's name.
func TestDegradedKioskAndItsAcknowledgement(t *testing.T) {
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
