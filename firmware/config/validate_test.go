package config

import (
	"strings"
	"testing"
)

func TestParseValidateErrors(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want []string // substrings of the error
	}{
		{"version missing", edit("version = 1\n", ""), []string{"version: missing; put version = 1 at the top of the file"}},
		{"version negative", edit("version = 1", "version = -1"), []string{"line 1: version: -1 is not a config version; use version = 1"}},
		{"kiosk id missing", edit(`id = "post-1"`, ""), []string{`line 3: kiosk.id: missing; set it to this post's id`}},
		{"kiosk id bad", edit(`id = "post-1"`, `id = "Post 1"`), []string{
			`line 4: kiosk.id: "Post 1" is not a valid id; use 1 to 64 lowercase letters, digits and dashes`}},
		{"kiosk id too long", edit(`id = "post-1"`, `id = "`+strings.Repeat("a", 65)+`"`), []string{"kiosk.id: \"aaaa"}},
		{"state dir relative", edit(`"/var/lib/kioskd"`, `"var/lib/kioskd"`), []string{
			`line 5: kiosk.state_dir: "var/lib/kioskd" is not an absolute path`}},
		{"listen no port", valid + "[http]\nlisten = \"8080\"\n", []string{
			`line 20: http.listen: "8080" is not host:port; write host:port, e.g. "127.0.0.1:8080", or ":8080" for every interface`}},
		{"listen bad port", valid + "[http]\nlisten = \":99999\"\n", []string{`http.listen: ":99999" has no valid port`}},
		{"broker missing", edit("broker = \"tcp://10.0.0.5:1883\"\n", ""), []string{"mqtt.broker: missing; write scheme://host:port"}},
		{"broker not url", edit("tcp://10.0.0.5:1883", "10.0.0.5:1883"), []string{`line 8: mqtt.broker: "10.0.0.5:1883" is not a broker URL`}},
		{"broker scheme", edit("tcp://", "http://"), []string{`mqtt.broker: scheme "http" is not supported; use one of tcp, ssl, tls, mqtt, mqtts`}},
		{"broker no port", edit("10.0.0.5:1883", "10.0.0.5"), []string{`mqtt.broker: "tcp://10.0.0.5" has no port; add one, e.g. "tcp://10.0.0.5:1883"`}},
		{"topic root no id", inMQTT(`topic_root = "gongzhi/v1/"`), []string{`line 9: mqtt.topic_root: "gongzhi/v1/" does not contain {kiosk_id}`}},
		{"topic root wildcard", inMQTT(`topic_root = "gongzhi/+/{kiosk_id}/"`), []string{"contains a wildcard (+ or #)"}},
		{"topic root no slash", inMQTT(`topic_root = "gongzhi/{kiosk_id}"`), []string{`does not end in "/"`}},
		{"password file relative", inMQTT("username = \"u\"\npassword_file = \"pw\""), []string{
			`line 10: mqtt.password_file: "pw" is not an absolute path`}},
		{"password file without username", inMQTT(`password_file = "/etc/pw"`), []string{
			"line 9: mqtt.password_file: is set but mqtt.username is not"}},
		{"keepalive range", inMQTT(`keepalive = "1s"`), []string{"line 9: mqtt.keepalive: 1s is out of range; use 5s to 10m"}},
		{"close before callback", valid + "[incidents]\ncallback_within = \"2h\"\nclose_within = \"1h\"\n", []string{
			"line 21: incidents.close_within: 1h must be longer than callback_within (2h)"}},
		{"size without unit", valid + "[journal]\nmax_size = \"64\"\n", []string{`line 20: journal.max_size: "64" is not a size; write a whole number and a unit`}},
		{"size as number", valid + "[journal]\nmax_size = 64\n", []string{`line 20: journal.max_size: must be a quoted size`}},
		{"cap too small", valid + "[journal]\nmax_size = \"512KiB\"\n", []string{`journal.max_size: 512KiB is too small`}},
		{"reserve leaves no room", valid + "[journal]\nmax_size = \"4MiB\"\nreserve = \"2MiB\"\n", []string{`journal.reserve: 2MiB must be`}},
		{"reserve too big", valid + "[journal]\nmax_size = \"8MiB\"\nreserve = \"5MiB\"\n", []string{`journal.reserve: 5MiB must be at least "64KiB", and journal.max_size (8MiB) at least twice the reserve plus 2MiB`}},
		{"telemetry budget", valid + "[journal]\ntelemetry_budget = 5\n", []string{`journal.telemetry_budget: 5 is out of range`}},
		{"heartbeat range", inMQTT(`heartbeat = "1s"`), []string{"mqtt.heartbeat: 1s is out of range; use 5s to 1h"}},
		{"bad driver", valid + "[devices]\ndriver = \"gpoi\"\n", []string{
			`line 20: devices.driver: "gpoi" is not a device driver; use one of gpio, sim`}},
		{"bad request", edit(`request = "community"`, `request = "polise"`), []string{
			`line 17: buttons[1].request: "polise" is not a request type; use one of police, community, lawyer, market, labour`}},
		{"request missing", edit(`request = "community"`, ""), []string{"line 15: buttons[1].request: missing; use one of police,"}},
		{"pin missing", edit(`pin = "GPIO27"`, ""), []string{`line 15: buttons[1].pin: missing; devices.driver is "gpio", so name the pin`}},
		{"pin bad", edit(`pin = "GPIO27"`, `pin = "GPIO 27"`), []string{`buttons[1].pin: "GPIO 27" is not a pin name`}},
		{"pin twice", edit(`pin = "GPIO27"`, `pin = "gpio17"`), []string{
			"line 18: buttons[1].pin: gpio17 is already used by buttons[0].pin; each button, switch and output needs its own pin"}},
		{"button name duplicate", edit(`name = "community"`, `name = "police"`), []string{
			`line 16: buttons[1].name: "police" is already the name of buttons[0]; names must be unique`}},
		{"button name bad", edit(`name = "community"`, `name = "Community"`), []string{`buttons[1].name: "Community" is not a valid name`}},
		{"button name reserved", edit(`name = "community"`, `name = "tamper"`), []string{`buttons[1].name: "tamper" is the tamper switch's name`}},
		{"no buttons", strings.Split(valid, "[[buttons]]")[0], []string{"buttons: none configured; add a [[buttons]] table for each call button"}},
		{"debounce range", inButton1(`debounce = "2s"`), []string{"line 19: buttons[1].debounce: 2s is out of range; use 1ms to 1s"}},
		{"long press not after debounce", inButton1("debounce = \"500ms\"\nlong_press = \"400ms\""), []string{
			"line 20: buttons[1].long_press: 400ms must be longer than debounce (500ms)"}},
		{"stuck not after long press", inButton1(`stuck_after = "3s"`), []string{
			"line 19: buttons[1].stuck_after: 3s must be longer than long_press (3s)"}},
		{"tamper pin missing", valid + "[tamper]\nactive_low = true\n", []string{`line 19: tamper.pin: missing; devices.driver is "gpio"`}},
		{"indicator kind", valid + "[[indicators]]\nname = \"led\"\npin = \"GPIO5\"\nkind = \"lamp\"\n", []string{
			`line 22: indicators[0].kind: "lamp" is not an indicator kind; use one of led, relay`}},
		{"indicator name missing", valid + "[[indicators]]\npin = \"GPIO5\"\n", []string{"line 19: indicators[0].name: missing"}},
		{"indicator name duplicate", valid + "[[indicators]]\nname = \"a\"\npin = \"GPIO5\"\n[[indicators]]\nname = \"a\"\npin = \"GPIO6\"\n", []string{
			`line 23: indicators[1].name: "a" is already the name of indicators[0]`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkErr(t, tt.doc, tt.want)
		})
	}
}

func TestParseReportsEveryProblem(t *testing.T) {
	doc := edit(`id = "post-1"`, `id = "Post 1"`)
	doc = strings.Replace(doc, `request = "community"`, `request = "polise"`, 1)
	doc = strings.Replace(doc, `pin = "GPIO27"`, `pin = "GPIO17"`, 1)
	_, err := Parse([]byte(doc))
	if got, want := len(errLines(err)), 3; got != want {
		t.Errorf("Parse reported %d problems, want %d:\n%v", got, want, err)
	}
}

func TestSimPinsOptional(t *testing.T) {
	doc := strings.NewReplacer(`pin = "GPIO17"`, "", `pin = "GPIO27"`, "").Replace(valid) + "[devices]\ndriver = \"sim\"\n"
	if _, err := Parse([]byte(doc)); err != nil {
		t.Errorf("Parse(sim config without pins): %v", err)
	}
}

func TestValidateZeroConfig(t *testing.T) {
	// A Config built in code without defaults is refused, not half-run.
	err := (&Config{}).Validate()
	for _, want := range []string{"version: missing", "kiosk.id: missing", "http.listen:", "mqtt.broker: missing", "mqtt.keepalive: 0s is out of range", "devices.driver: missing"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v, want it to contain %q", err, want)
		}
	}
}
