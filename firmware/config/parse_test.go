package config

import (
	"strings"
	"testing"
)

// valid is a small complete config; the cases below edit it. Line numbers
// in the wanted messages refer to it.
const valid = `version = 1

[kiosk]
id = "post-1"
state_dir = "/var/lib/kioskd"

[mqtt]
broker = "tcp://10.0.0.5:1883"
allow_plain = true
[[buttons]]
name = "police"
request = "police"
pin = "GPIO17"

[[buttons]]
name = "community"
request = "community"
pin = "GPIO27"
`

// edit returns valid with the first old replaced by new.
func edit(old, new string) string {
	if !strings.Contains(valid, old) {
		panic("edit: " + old + " is not in valid")
	}
	return strings.Replace(valid, old, new, 1)
}

// inButton1 adds lines to the end of the second button, after line 18.
func inButton1(lines string) string { return valid + lines + "\n" }

// inMQTT adds lines after mqtt.broker, from line 9 on.
func inMQTT(lines string) string {
	return edit(`broker = "tcp://10.0.0.5:1883"`, `broker = "tcp://10.0.0.5:1883"`+"\n"+lines)
}

func TestParseValid(t *testing.T) {
	if _, err := Parse([]byte(valid)); err != nil {
		t.Fatalf("Parse(valid): %v", err)
	}
}

func TestParseSchemaErrors(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want []string // substrings of the error
	}{
		{"unknown key", inMQTT(`pasword = "/etc/pw"`), []string{
			"line 9: mqtt.pasword: unknown key; check the spelling, did you mean password_file? (keys allowed in mqtt: broker, topic_root,"}},
		{"unknown table", edit("[kiosk]", "[kiosks]"), []string{
			"line 3: kiosks: unknown key; check the spelling, did you mean kiosk?", "keys allowed at the top level: version, kiosk,"}},
		{"unknown key in array entry", inButton1(`colour = "red"`), []string{
			"line 19: buttons[1].colour: unknown key; check the spelling (keys allowed in buttons[1]: name, request, pin,"}},
		{"unknown key in inline table", "version = 1\nbuttons = [{name = \"a\"}, {nme = \"b\"}]\n", []string{
			"line 2: buttons[1].nme: unknown key; check the spelling, did you mean name?"}},
		{"password inline", inMQTT(`password = "hunter2"`), []string{
			"line 9: mqtt.password: secrets are never written in the config; put it in a file only kioskd can read and set mqtt.password_file to that file's absolute path"}},
		{"bad duration", inButton1(`long_press = "3 s"`), []string{
			`line 19: buttons[1].long_press: "3 s" is not a duration; write a number and a unit`}},
		{"duration without unit", inButton1(`debounce = 30`), []string{
			`line 19: buttons[1].debounce: 30 has no unit; write a quoted duration, like "30ms" or "30s"`}},
		{"zero duration", inMQTT(`keepalive = "0s"`), []string{`line 9: mqtt.keepalive: "0s" is not positive`}},
		{"duration as date", inButton1(`debounce = 2020-01-01`), []string{
			`buttons[1].debounce: must be a quoted duration, like "30ms", "3s" or "5m", not a date or time`}},
		{"quoted version", edit("version = 1", `version = "1"`), []string{
			"line 1: version: must be a whole number, not a string; remove the quotes"}},
		{"quoted bool", inButton1(`active_low = "yes"`), []string{
			"line 19: buttons[1].active_low: must be true or false, not a string; remove the quotes"}},
		{"unquoted string", edit(`pin = "GPIO17"`, `pin = 17`), []string{
			"line 13: buttons[0].pin: must be a string, not a whole number; put the value in quotes"}},
		{"table as array", edit("[kiosk]", "[[kiosk]]"), []string{
			"line 3: kiosk: must be a table, not an array of tables; write [kiosk], not [[kiosk]]"}},
		{"array as table", "version = 1\n[buttons]\nname = \"a\"\n", []string{
			"line 2: buttons: must be an array of tables, not a table; write [[buttons]] once for each entry"}},
		{"value as table", "version = 1\ntamper = 5\n", []string{"line 2: tamper: must be a table, not a whole number"}},
		{"syntax", edit("[mqtt]", "[mqtt"), []string{"line 7: not valid TOML: "}},
		{"key twice", edit("version = 1", "version = 1\nversion = 1"), []string{"not valid TOML: key version is already defined"}},
		{"all reported", inMQTT("pasword = \"x\"\nkeeplive = \"30s\""), []string{"line 9: mqtt.pasword", "line 10: mqtt.keeplive"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkErr(t, tt.doc, tt.want)
		})
	}
}

func TestParseNeverEchoesSecrets(t *testing.T) {
	_, err := Parse([]byte(inMQTT(`password = "hunter2"`)))
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("Parse error = %v, want an error without the password", err)
	}
}

func TestParseTooNewVersionHidesOtherProblems(t *testing.T) {
	doc := edit("version = 1", "version = 2\nnew_in_v2 = true")
	_, err := Parse([]byte(doc))
	got := errLines(err)
	want := "line 1: version: this kioskd is too old for config version 2 (it reads version 1); upgrade kioskd, or write the file for version 1"
	if len(got) != 1 || got[0] != want {
		t.Errorf("Parse error = %q, want only %q", got, want)
	}
}

// checkErr parses doc and wants an error containing every string in want.
func checkErr(t *testing.T, doc string, want []string) {
	t.Helper()
	c, err := Parse([]byte(doc))
	if err == nil {
		t.Fatalf("Parse = %+v, nil; want an error", c)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("Parse error:\n%v\nwant it to contain:\n%s", err, w)
		}
	}
}

func errLines(err error) []string {
	if err == nil {
		return nil
	}
	return strings.Split(err.Error(), "\n")
}

// Parse reads operator-written files; no input may make it panic.
func FuzzParse(f *testing.F) {
	f.Add(valid)
	f.Add(Example())
	f.Add("version = 1\nbuttons = [{name = \"a\", debounce = 30}, {x = {y = 1}}]\nkiosk.id.x = [1, [2]]\n")
	f.Fuzz(func(t *testing.T, doc string) {
		Parse([]byte(doc))
	})
}
