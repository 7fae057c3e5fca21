package config

import (
	"reflect"
	"testing"
)

func TestExampleParses(t *testing.T) {
	if _, err := Parse([]byte(Example())); err != nil {
		t.Fatalf("Parse(Example()):\n%v", err)
	}
}

// The example is the reference the README points at, so it must show every key.
func TestExampleHasEveryKey(t *testing.T) {
	lines, probs := scan([]byte(Example()))
	if len(probs) > 0 {
		t.Fatalf("scan(Example()) = %v", probs)
	}
	for _, key := range schemaKeys(configType, "") {
		if _, ok := lines[key]; !ok {
			t.Errorf("example.toml lacks %s", key)
		}
	}
}

// schemaKeys lists every leaf key path of t, with [0] for arrays of tables.
func schemaKeys(t reflect.Type, prefix string) []string {
	var keys []string
	for _, k := range keysOf(t) {
		f, _ := fieldFor(t, k)
		path, ft := join(prefix, k), deref(f.Type)
		switch {
		case isTableArray(ft):
			keys = append(keys, schemaKeys(deref(ft.Elem()), path+"[0]")...)
		case ft.Kind() == reflect.Struct && ft != durationType:
			keys = append(keys, schemaKeys(ft, path)...)
		default:
			keys = append(keys, path)
		}
	}
	return keys
}

func TestSim(t *testing.T) {
	c := Sim(t.TempDir())
	if err := c.Validate(); err != nil {
		t.Fatalf("Sim().Validate():\n%v", err)
	}
	tests := []struct {
		key       string
		got, want any
	}{
		{"kiosk.id", c.Kiosk.ID, "sim-kiosk"},
		{"http.listen", c.HTTP.Listen, "127.0.0.1:8080"},
		{"mqtt.broker", c.MQTT.Broker, "tcp://127.0.0.1:1883"},
		{"devices.driver", c.Devices.Driver, "sim"},
		{"len(buttons)", len(c.Buttons), 5},
		{"tamper", c.Tamper != nil, true},
		{"len(indicators)", len(c.Indicators), 2},
		{"indicators[0]", c.Indicators[0].Name + "/" + c.Indicators[0].Kind, "led/led"},
		{"indicators[1]", c.Indicators[1].Name + "/" + c.Indicators[1].Kind, "strobe/relay"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s = %v, want %v", tt.key, tt.got, tt.want)
		}
	}
	if t.Failed() {
		return
	}
	for i, want := range []string{"police", "community", "lawyer", "market", "labour"} {
		if b := c.Buttons[i]; b.Name != want || b.Request != want {
			t.Errorf("buttons[%d] = %s/%s, want %s/%s", i, b.Name, b.Request, want, want)
		}
	}
}
