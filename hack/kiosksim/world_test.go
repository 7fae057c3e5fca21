package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"kioskd/firmware/config"
	"kioskd/hack/brokertest"
	"kioskd/hack/screentest"
)

const waitLong = 20 * time.Second

// simWorld is kiosksim's world (the real firmware daemon with sim devices and
// the station console) on a real mosquitto, for one test.
type simWorld struct {
	kiosk, station string // base URLs
}

func startWorld(t *testing.T) simWorld {
	t.Helper()
	broker := brokertest.Start(t)
	cfg := config.Sim(t.TempDir())
	cfg.MQTT.Broker = broker.URL()
	cfg.HTTP.Listen = fmt.Sprintf("127.0.0.1:%d", brokertest.FreePort(t))
	w := world{cfg: cfg, stationAddr: fmt.Sprintf("127.0.0.1:%d", brokertest.FreePort(t)),
		log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("kiosksim world: %v", err)
		}
	})
	sw := simWorld{kiosk: "http://" + cfg.HTTP.Listen, station: "http://" + w.stationAddr}
	waitFor(t, "the kiosk and the station", func() bool {
		var v struct{ Connected bool }
		return getJSON(sw.kiosk+"/healthz", &struct{}{}) == nil &&
			getJSON(sw.station+"/api/view", &v) == nil && v.Connected
	})
	return sw
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLong)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func getJSON(url string, v any) error {
	res, err := http.Get(url)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, res.Status)
	}
	return json.NewDecoder(res.Body).Decode(v)
}

func post(t *testing.T, url, body string) *http.Response {
	t.Helper()
	res, err := http.Post(url, "application/json", bytes.NewBufferString(body))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { res.Body.Close() })
	return res
}

// stationIncident is the part of the station's /api/view a test reads.
type stationIncident struct {
	ID, Kiosk, Request, Status, Responder string
	Timeline                              []struct{ Type string }
	Commands                              []struct{ ID, Name, Outcome string }
}

func stationIncidents(t *testing.T, sw simWorld) []stationIncident {
	t.Helper()
	var v struct{ Incidents []stationIncident }
	if err := getJSON(sw.station+"/api/view", &v); err != nil {
		t.Fatal(err)
	}
	return v.Incidents
}

// kioskIncident returns the kiosk's own view of an incident, from /api/state.
func kioskIncident(t *testing.T, sw simWorld, id string) (status, responder string) {
	t.Helper()
	var st struct {
		Incidents []struct{ ID, Status, Responder string }
	}
	if err := getJSON(sw.kiosk+"/api/state", &st); err != nil {
		t.Fatal(err)
	}
	for _, in := range st.Incidents {
		if in.ID == id {
			return in.Status, in.Responder
		}
	}
	return "", ""
}

// pressPolice presses the police button and waits for the alarm on the console.
func pressPolice(t *testing.T, sw simWorld) stationIncident {
	t.Helper()
	if res := post(t, sw.kiosk+"/api/sim/buttons/police/press", ""); res.StatusCode >= 300 {
		t.Fatalf("press: %s", res.Status)
	}
	var in stationIncident
	waitFor(t, "the alarm on the console", func() bool {
		for _, i := range stationIncidents(t, sw) {
			if i.Request == "police" && len(i.Timeline) > 0 {
				in = i
				return true
			}
		}
		return false
	})
	if in.Kiosk != "sim-kiosk" || in.Timeline[0].Type != "incident.registered" {
		t.Errorf("console incident: got %+v, want sim-kiosk's, starting incident.registered", in)
	}
	return in
}

func TestPressShowsOnConsoleAndAcceptReachesKiosk(t *testing.T) {
	sw := startWorld(t)
	in := pressPolice(t, sw)

	body := fmt.Sprintf(`{"kiosk":"sim-kiosk","name":"accept","args":{"incident":%q,"responder":"王警官"}}`, in.ID)
	res := post(t, sw.station+"/api/commands", body)
	if res.StatusCode != http.StatusAccepted {
		b, _ := io.ReadAll(res.Body)
		t.Fatalf("accept: %s %s", res.Status, b)
	}
	waitFor(t, "the kiosk to accept", func() bool {
		status, responder := kioskIncident(t, sw, in.ID)
		return status == "accepted" && responder == "王警官"
	})
	waitFor(t, "the reply ok on the console", func() bool {
		for _, i := range stationIncidents(t, sw) {
			if i.ID == in.ID && len(i.Commands) == 1 {
				return i.Commands[0].Outcome == "ok" && i.Status == "accepted"
			}
		}
		return false
	})
}

func TestConsoleInChromium(t *testing.T) {
	sw := startWorld(t)
	ctx := screentest.Browser(t, 1440, 1000)
	out := screentest.OutputDir(t)
	run := func(what string, actions ...chromedp.Action) {
		t.Helper()
		step, cancel := context.WithTimeout(ctx, waitLong)
		defer cancel()
		if err := chromedp.Run(step, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	run("open the console", chromedp.Navigate(sw.station), chromedp.WaitVisible(`#live .statusline`))
	screentest.Screenshot(t, ctx, out, "1-empty")

	in := pressPolice(t, sw)
	card := fmt.Sprintf(`#inc-%s`, in.ID)
	run("the alarm appears", chromedp.WaitVisible(card+` button[data-action="accept"]`))
	screentest.Screenshot(t, ctx, out, "2-alarm")

	run("accept from the console",
		chromedp.SendKeys(`#operator`, "王警官"),
		chromedp.Click(card+` button[data-action="accept"]`),
		chromedp.WaitVisible(`#act[open] #act-send`))
	screentest.Screenshot(t, ctx, out, "3-accept-dialog")
	run("send", chromedp.Click(`#act-send`), chromedp.WaitVisible(card+` .cmd.o-ok`))
	var outcome string
	run("read the reply", chromedp.Text(card+` .cmd .cmd-outcome`, &outcome))
	if outcome != "成功 ok" {
		t.Errorf("reply shown: got %q, want %q", outcome, "成功 ok")
	}
	status, responder := kioskIncident(t, sw, in.ID)
	if status != "accepted" || responder != "王警官" {
		t.Errorf("kiosk state: got %s by %q, want accepted by 王警官", status, responder)
	}
	run("the card shows the responder", chromedp.WaitVisible(card+` .s-accepted`))
	screentest.Screenshot(t, ctx, out, "4-accepted")
}
