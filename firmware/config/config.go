// Package config reads kioskd's one configuration file: a versioned TOML
// document that is checked strictly. An unknown key, a mistyped or
// out-of-range value, or a missing required key is an error naming the key
// path and the line, and kioskd refuses to start rather than guess.
// Secrets are never inline: the file names the files that hold them.
package config

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/pelletier/go-toml/v2"
)

// CurrentVersion is the config format version this kioskd reads.
const CurrentVersion = 1

// Config is the whole configuration file.
type Config struct {
	Version    int         `toml:"version"`
	Kiosk      Kiosk       `toml:"kiosk"`
	HTTP       HTTP        `toml:"http"`
	MQTT       MQTT        `toml:"mqtt"`
	Incidents  Incidents   `toml:"incidents"`
	Journal    Journal     `toml:"journal"`
	Devices    Devices     `toml:"devices"`
	Buttons    []Button    `toml:"buttons"`
	Tamper     *Tamper     `toml:"tamper"` // nil when the post has no tamper switch
	Indicators []Indicator `toml:"indicators"`
	Cameras    []Camera    `toml:"cameras"` // see camera.go
	Clips      Clips       `toml:"clips"`
	Relay      Relay       `toml:"relay"`
	Guard      Guard       `toml:"guard"` // see guard.go
	Commands   Commands    `toml:"commands"`
	Acks       Acks        `toml:"acks"`     // see security.go
	SelfTest   SelfTest    `toml:"selftest"` // see firmware/upkeep
	Update     Update      `toml:"update"`   // see firmware/upkeep
}

// Kiosk identifies the post and where it keeps its state.
type Kiosk struct {
	ID       string `toml:"id"`        // [a-z0-9-]{1,64}
	StateDir string `toml:"state_dir"` // absolute
}

// HTTP is the citizen screen and guard console server.
type HTTP struct {
	Listen string `toml:"listen"` // host:port
}

// MQTT is the link to the police platform's broker.
type MQTT struct {
	Broker       string   `toml:"broker"`        // scheme://host:port
	TopicRoot    string   `toml:"topic_root"`    // contains {kiosk_id}; see Config.TopicRoot
	ClientID     string   `toml:"client_id"`     // defaults to the kiosk id
	Username     string   `toml:"username"`      //
	PasswordFile string   `toml:"password_file"` // absolute; read when connecting, not here
	KeepAlive    Duration `toml:"keepalive"`     //
	AckTimeout   Duration `toml:"ack_timeout"`   //
	Heartbeat    Duration `toml:"heartbeat"`     // how often vital signs are published
	// TLS (see security.go): the broker's CA and this kiosk's certificate.
	CAFile     string `toml:"ca_file"`     // absolute; empty: the system's roots
	CertFile   string `toml:"cert_file"`   // absolute; CN = kiosk.id
	KeyFile    string `toml:"key_file"`    // absolute
	AllowPlain bool   `toml:"allow_plain"` // permit tcp:// and mqtt:// (labs and tests only)
}

// Journal bounds the journal file and what may be dropped from it.
type Journal struct {
	MaxSize         Size `toml:"max_size"`         // the file never grows past this
	Reserve         Size `toml:"reserve"`          // kept for alarms when the disk or the cap is reached
	TelemetryBudget int  `toml:"telemetry_budget"` // telemetry events waiting for the platform, at most
}

// Incidents holds the deadlines the platform holds the post to.
type Incidents struct {
	CallbackWithin Duration `toml:"callback_within"`
	CloseWithin    Duration `toml:"close_within"`
}

// Devices chooses how buttons and indicators are driven.
type Devices struct {
	Driver string `toml:"driver"` // "gpio" or "sim"
}

// Button is one call button.
type Button struct {
	Name       string   `toml:"name"`
	Request    string   `toml:"request"` // police, community, lawyer, market or labour
	Pin        string   `toml:"pin"`     // e.g. "GPIO17"; required with the gpio driver
	ActiveLow  bool     `toml:"active_low"`
	Debounce   Duration `toml:"debounce"`
	LongPress  Duration `toml:"long_press"`
	StuckAfter Duration `toml:"stuck_after"`
}

// Tamper is the switch on the post's enclosure.
type Tamper struct {
	Pin       string `toml:"pin"`
	ActiveLow bool   `toml:"active_low"`
}

// Indicator is an LED or a relay (a strobe, a sounder).
type Indicator struct {
	Name string `toml:"name"`
	Pin  string `toml:"pin"`
	Kind string `toml:"kind"` // "led" or "relay"
}

// Defaults for keys that may be left out.
const (
	DefaultListen    = "127.0.0.1:8080"
	DefaultTopicRoot = "gongzhi/v1/{kiosk_id}/"
	DefaultDriver    = "gpio"
)

// Load reads and parses the config file at path. Errors start with the path.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("config: %w; write one there, starting from the commented example firmware/config/example.toml", err)
	}
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	c, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("config %s:\n%w", path, err)
	}
	return c, nil
}

// Parse decodes a config strictly, fills in defaults and validates it. The
// error lists problems one per line: first every unknown key and mistyped
// value; when there are none, every value Validate rejects.
func Parse(data []byte) (*Config, error) {
	// Plain TOML syntax first, so the schema walk below sees a sound document.
	var doc map[string]any
	if err := toml.Unmarshal(data, &doc); err != nil {
		return nil, fromDecodeError(err, "not valid TOML: ")
	}
	lines, probs := scan(data)
	// A file for a newer kioskd has keys this one cannot know; saying so
	// beats a screen of unknown-key errors.
	if v, ok := doc["version"].(int64); ok && v > CurrentVersion {
		return nil, errors.Join(&problem{line: lines["version"], path: "version", msg: tooNew(v)})
	}
	if len(probs) > 0 {
		return nil, errors.Join(probs...)
	}
	var c Config
	dec := toml.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return nil, fromDecodeError(err, "") // scan should have caught it already
	}
	c.applyDefaults()
	if err := c.Validate(); err != nil {
		return nil, locate(err, lines)
	}
	return &c, nil
}

// TopicRoot is mqtt.topic_root with {kiosk_id} filled in.
func (c *Config) TopicRoot() string {
	return strings.ReplaceAll(c.MQTT.TopicRoot, "{kiosk_id}", c.Kiosk.ID)
}

func (c *Config) applyDefaults() {
	c.HTTP.Listen = cmp.Or(c.HTTP.Listen, DefaultListen)
	c.MQTT.TopicRoot = cmp.Or(c.MQTT.TopicRoot, DefaultTopicRoot)
	c.MQTT.ClientID = cmp.Or(c.MQTT.ClientID, c.Kiosk.ID)
	orDuration(&c.MQTT.KeepAlive, 30*time.Second)
	orDuration(&c.MQTT.AckTimeout, 10*time.Second)
	orDuration(&c.MQTT.Heartbeat, time.Minute)
	orSize(&c.Journal.MaxSize, 512<<20)
	orSize(&c.Journal.Reserve, 4<<20)
	c.Journal.TelemetryBudget = cmp.Or(c.Journal.TelemetryBudget, 10000)
	orDuration(&c.Incidents.CallbackWithin, 5*time.Minute)
	orDuration(&c.Incidents.CloseWithin, 24*time.Hour)
	c.Devices.Driver = cmp.Or(c.Devices.Driver, DefaultDriver)
	for i := range c.Buttons {
		b := &c.Buttons[i]
		orDuration(&b.Debounce, 30*time.Millisecond)
		orDuration(&b.LongPress, 3*time.Second)
		orDuration(&b.StuckAfter, 30*time.Second)
	}
	for i := range c.Indicators {
		c.Indicators[i].Kind = cmp.Or(c.Indicators[i].Kind, "led")
	}
	c.applyCameraDefaults()
	c.applyGuardDefaults()
	c.applyUpkeepDefaults()
}

func orSize(s *Size, def int64) {
	if s.Bytes == 0 {
		s.Bytes = def
	}
}

// orDuration needs no "was it set" flag: UnmarshalText rejects zero, so zero
// always means the key was left out.
func orDuration(d *Duration, def time.Duration) {
	if d.Duration == 0 {
		d.Duration = def
	}
}
