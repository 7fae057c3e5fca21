package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseDefaults(t *testing.T) {
	c, err := Parse([]byte(valid + "[[indicators]]\nname = \"led\"\npin = \"GPIO5\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		key       string
		got, want any
	}{
		{"http.listen", c.HTTP.Listen, "127.0.0.1:8080"},
		{"mqtt.topic_root", c.MQTT.TopicRoot, "gongzhi/v1/{kiosk_id}/"},
		{"mqtt.client_id", c.MQTT.ClientID, "post-1"},
		{"mqtt.keepalive", c.MQTT.KeepAlive.Duration, 30 * time.Second},
		{"mqtt.ack_timeout", c.MQTT.AckTimeout.Duration, 10 * time.Second},
		{"incidents.callback_within", c.Incidents.CallbackWithin.Duration, 5 * time.Minute},
		{"incidents.close_within", c.Incidents.CloseWithin.Duration, 24 * time.Hour},
		{"devices.driver", c.Devices.Driver, "gpio"},
		{"buttons[1].debounce", c.Buttons[1].Debounce.Duration, 30 * time.Millisecond},
		{"buttons[1].long_press", c.Buttons[1].LongPress.Duration, 3 * time.Second},
		{"buttons[1].stuck_after", c.Buttons[1].StuckAfter.Duration, 30 * time.Second},
		{"buttons[1].active_low", c.Buttons[1].ActiveLow, false},
		{"tamper", c.Tamper == nil, true},
		{"indicators[0].kind", c.Indicators[0].Kind, "led"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s = %v, want %v", tt.key, tt.got, tt.want)
		}
	}
}

func TestParseKeepsValues(t *testing.T) {
	c, err := Parse([]byte(Example()))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		key       string
		got, want any
	}{
		{"mqtt.broker", c.MQTT.Broker, "ssl://mqtt.example.cn:8883"},
		{"mqtt.password_file", c.MQTT.PasswordFile, "/run/credentials/kioskd.service/kioskd_mqtt-password"},
		{"buttons[4].request", c.Buttons[4].Request, "labour"},
		{"buttons[4].active_low", c.Buttons[4].ActiveLow, true},
		{"tamper.pin", c.Tamper.Pin, "GPIO25"},
		{"indicators[1].kind", c.Indicators[1].Kind, "relay"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s = %v, want %v", tt.key, tt.got, tt.want)
		}
	}
}

func TestTopicRoot(t *testing.T) {
	c, err := Parse([]byte(valid))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.TopicRoot(), "gongzhi/v1/post-1/"; got != want {
		t.Errorf("TopicRoot() = %q, want %q", got, want)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.toml")
	bad := filepath.Join(dir, "bad.toml")
	if err := os.WriteFile(good, []byte(valid), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte(inMQTT(`pasword = "x"`)), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(good); err != nil {
		t.Errorf("Load(good): %v", err)
	}

	_, err := Load(bad)
	if err == nil || !strings.HasPrefix(err.Error(), "config "+bad+":\nline 9: mqtt.pasword: unknown key") {
		t.Errorf("Load(bad) = %v, want the path, then one problem a line", err)
	}

	missing := filepath.Join(dir, "missing.toml")
	_, err = Load(missing)
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), missing) || !strings.Contains(err.Error(), "example.toml") {
		t.Errorf("Load(missing) = %v, want fs.ErrNotExist naming the path and the example", err)
	}
}

func TestDurationUnmarshalText(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Duration
		wantErr string
	}{
		{"30ms", 30 * time.Millisecond, ""},
		{"5m", 5 * time.Minute, ""},
		{"1h30m", 90 * time.Minute, ""},
		{"3 s", 0, `"3 s" is not a duration`},
		{"30", 0, `"30" has no unit`},
		{"0s", 0, `"0s" is not positive`},
		{"-1s", 0, `"-1s" is not positive`},
		{"", 0, `"" is not a duration`},
	}
	for _, tt := range tests {
		var d Duration
		err := d.UnmarshalText([]byte(tt.in))
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("UnmarshalText(%q) = %v, want error containing %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || d.Duration != tt.want {
			t.Errorf("UnmarshalText(%q) = %v, %v; want %v", tt.in, d.Duration, err, tt.want)
		}
	}
}

func TestDurationString(t *testing.T) {
	tests := []struct {
		in   time.Duration
		want string
	}{
		{30 * time.Millisecond, "30ms"},
		{3 * time.Second, "3s"},
		{5 * time.Minute, "5m"},
		{24 * time.Hour, "24h"},
		{90 * time.Minute, "1h30m"},
		{90 * time.Second, "1m30s"},
	}
	for _, tt := range tests {
		if got := (Duration{tt.in}).String(); got != tt.want {
			t.Errorf("Duration{%v}.String() = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestSizeText(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"512KiB", 512 << 10, true}, {"8MiB", 8 << 20, true}, {"1GiB", 1 << 30, true},
		{"8MB", 0, false}, {"0MiB", 0, false}, {"-1MiB", 0, false}, {"1.5MiB", 0, false}, {"MiB", 0, false},
	}
	for _, tt := range tests {
		var s Size
		err := s.UnmarshalText([]byte(tt.in))
		if (err == nil) != tt.ok || s.Bytes != tt.want {
			t.Errorf("Size(%q) = %d, %v; want %d, ok %v", tt.in, s.Bytes, err, tt.want, tt.ok)
		}
		if tt.ok {
			if b, _ := s.MarshalText(); string(b) != tt.in {
				t.Errorf("Size(%q) writes back as %q", tt.in, b)
			}
		}
	}
}
