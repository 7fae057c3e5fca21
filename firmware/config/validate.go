package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

var (
	namePattern = regexp.MustCompile(`^[a-z0-9-]{1,64}$`)
	pinPattern  = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)

	requestTypes   = []string{"police", "community", "lawyer", "market", "labour"}
	drivers        = []string{"gpio", "sim"}
	indicatorKinds = []string{"led", "relay"}
	brokerSchemes  = []string{"tcp", "ssl", "tls", "mqtt", "mqtts"}
)

// Validate reports every problem with c, joined, each naming its key path.
// It does not fill in defaults; Parse does that first.
func (c *Config) Validate() error {
	var ps problems
	switch {
	case c.Version == 0:
		ps.add("version", "missing; put version = %d at the top of the file", CurrentVersion)
	case c.Version > CurrentVersion:
		ps.add("version", "%s", tooNew(int64(c.Version)))
	case c.Version < 0:
		ps.add("version", "%d is not a config version; use version = %d", c.Version, CurrentVersion)
	}
	c.Kiosk.validate(&ps)
	c.HTTP.validate(&ps)
	c.MQTT.validate(&ps)
	c.Incidents.validate(&ps)
	c.Journal.validate(&ps)
	ps.oneOf("devices.driver", c.Devices.Driver, "a device driver", drivers)
	c.validateInputs(&ps)
	c.validateIndicators(&ps)
	c.validatePins(&ps)
	c.validateCameras(&ps)
	c.Guard.validate(&ps)
	c.validateSecurity(&ps)
	c.validateUpkeep(&ps)
	return errors.Join(ps...)
}

func (k Kiosk) validate(ps *problems) {
	switch {
	case k.ID == "":
		ps.add("kiosk.id", "missing; set it to this post's id, e.g. id = \"wanda-plaza-1\"")
	case !namePattern.MatchString(k.ID):
		ps.add("kiosk.id", "%q is not a valid id; use 1 to 64 lowercase letters, digits and dashes, e.g. \"wanda-plaza-1\"", k.ID)
	}
	switch {
	case k.StateDir == "":
		ps.add("kiosk.state_dir", "missing; set it to the directory kioskd keeps its journal in, e.g. \"/var/lib/kioskd\"")
	case !filepath.IsAbs(k.StateDir):
		ps.add("kiosk.state_dir", "%q is not an absolute path; write it from the root, e.g. \"/var/lib/kioskd\"", k.StateDir)
	}
}

func (h HTTP) validate(ps *problems) {
	const hint = "write host:port, e.g. \"127.0.0.1:8080\", or \":8080\" for every interface"
	_, port, err := net.SplitHostPort(h.Listen)
	if err != nil {
		ps.add("http.listen", "%q is not host:port; %s", h.Listen, hint)
		return
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		ps.add("http.listen", "%q has no valid port; the port is a number from 1 to 65535", h.Listen)
	}
}

func (m MQTT) validate(ps *problems) {
	validateBroker(ps, m.Broker)
	t := m.TopicRoot
	switch {
	case !strings.Contains(t, "{kiosk_id}"):
		ps.add("mqtt.topic_root", "%q does not contain {kiosk_id}; each post needs its own topics, e.g. %q", t, DefaultTopicRoot)
	case strings.ContainsAny(t, "+#"):
		ps.add("mqtt.topic_root", "%q contains a wildcard (+ or #); a topic root is a plain prefix", t)
	case !strings.HasSuffix(t, "/"):
		ps.add("mqtt.topic_root", "%q does not end in \"/\"; topic names are appended to it", t)
	}
	if m.PasswordFile != "" {
		if !filepath.IsAbs(m.PasswordFile) {
			ps.add("mqtt.password_file", "%q is not an absolute path; write it from the root, e.g. \"/etc/kioskd/mqtt-password\"", m.PasswordFile)
		}
		if m.Username == "" {
			ps.add("mqtt.password_file", "is set but mqtt.username is not; MQTT sends a password only with a username")
		}
	}
	ps.within("mqtt.keepalive", m.KeepAlive, 5*time.Second, 10*time.Minute)
	ps.within("mqtt.heartbeat", m.Heartbeat, 5*time.Second, time.Hour)
	ps.within("mqtt.ack_timeout", m.AckTimeout, time.Second, 10*time.Minute)
}

func validateBroker(ps *problems, broker string) {
	const hint = "write scheme://host:port, e.g. \"tcp://10.0.0.5:1883\" or \"ssl://mqtt.example.cn:8883\""
	if broker == "" {
		ps.add("mqtt.broker", "missing; %s", hint)
		return
	}
	u, err := url.Parse(broker)
	if err != nil || !strings.Contains(broker, "://") || u.Hostname() == "" {
		ps.add("mqtt.broker", "%q is not a broker URL; %s", broker, hint)
		return
	}
	if !slices.Contains(brokerSchemes, u.Scheme) {
		ps.add("mqtt.broker", "scheme %q is not supported; use one of %s", u.Scheme, strings.Join(brokerSchemes, ", "))
	}
	if u.Port() == "" {
		ps.add("mqtt.broker", "%q has no port; add one, e.g. \"%s://%s:1883\"", broker, u.Scheme, u.Hostname())
	}
}

func (in Incidents) validate(ps *problems) {
	ps.within("incidents.callback_within", in.CallbackWithin, time.Second, 24*time.Hour)
	if in.CloseWithin.Duration <= in.CallbackWithin.Duration {
		ps.add("incidents.close_within", "%s must be longer than callback_within (%s)", in.CloseWithin, in.CallbackWithin)
	}
}

// validateInputs checks the buttons and the tamper switch.
func (c *Config) validateInputs(ps *problems) {
	gpio := c.Devices.Driver == "gpio"
	if len(c.Buttons) == 0 {
		ps.add("buttons", "none configured; add a [[buttons]] table for each call button")
	}
	names := map[string]string{}
	for i, b := range c.Buttons {
		p := fmt.Sprintf("buttons[%d]", i)
		ps.name(p, b.Name, names)
		if b.Name == "tamper" {
			ps.add(p+".name", "\"tamper\" is the tamper switch's name; pick another")
		}
		ps.oneOf(p+".request", b.Request, "a request type", requestTypes)
		ps.pin(p+".pin", b.Pin, gpio)
		ps.within(p+".debounce", b.Debounce, time.Millisecond, time.Second)
		if b.LongPress.Duration <= b.Debounce.Duration {
			ps.add(p+".long_press", "%s must be longer than debounce (%s)", b.LongPress, b.Debounce)
		}
		if b.StuckAfter.Duration <= b.LongPress.Duration {
			ps.add(p+".stuck_after", "%s must be longer than long_press (%s); a held button is a long press before it is stuck", b.StuckAfter, b.LongPress)
		}
	}
	if c.Tamper != nil {
		ps.pin("tamper.pin", c.Tamper.Pin, gpio)
	}
}

func (c *Config) validateIndicators(ps *problems) {
	names := map[string]string{}
	for i, in := range c.Indicators {
		p := fmt.Sprintf("indicators[%d]", i)
		ps.name(p, in.Name, names)
		ps.pin(p+".pin", in.Pin, c.Devices.Driver == "gpio")
		ps.oneOf(p+".kind", in.Kind, "an indicator kind", indicatorKinds)
	}
}

// validatePins rejects two inputs or outputs wired to one pin.
func (c *Config) validatePins(ps *problems) {
	used := map[string]string{} // upper-cased pin → key path that has it
	claim := func(path, pin string) {
		if pin == "" {
			return
		}
		if first, ok := used[strings.ToUpper(pin)]; ok {
			ps.add(path, "%s is already used by %s; each button, switch and output needs its own pin", pin, first)
			return
		}
		used[strings.ToUpper(pin)] = path
	}
	for i, b := range c.Buttons {
		claim(fmt.Sprintf("buttons[%d].pin", i), b.Pin)
	}
	if c.Tamper != nil {
		claim("tamper.pin", c.Tamper.Pin)
	}
	for i, in := range c.Indicators {
		claim(fmt.Sprintf("indicators[%d].pin", i), in.Pin)
	}
}

// name checks the name of the table at path against the names in seen.
func (ps *problems) name(path, name string, seen map[string]string) {
	switch {
	case name == "":
		ps.add(path+".name", "missing; give it a short name such as \"police\"")
	case !namePattern.MatchString(name):
		ps.add(path+".name", "%q is not a valid name; use 1 to 64 lowercase letters, digits and dashes", name)
	case seen[name] != "":
		ps.add(path+".name", "%q is already the name of %s; names must be unique", name, seen[name])
	default:
		seen[name] = path
	}
}

func (ps *problems) oneOf(path, v, what string, allowed []string) {
	list := strings.Join(allowed, ", ")
	switch {
	case v == "":
		ps.add(path, "missing; use one of %s", list)
	case !slices.Contains(allowed, v):
		ps.add(path, "%q is not %s; use one of %s", v, what, list)
	}
}

func (ps *problems) pin(path, pin string, gpio bool) {
	switch {
	case pin == "" && gpio:
		ps.add(path, "missing; devices.driver is \"gpio\", so name the pin, e.g. pin = \"GPIO17\"")
	case pin != "" && !pinPattern.MatchString(pin):
		ps.add(path, "%q is not a pin name; write it as the board names it, e.g. \"GPIO17\"", pin)
	}
}

func (ps *problems) within(path string, d Duration, lo, hi time.Duration) {
	if d.Duration < lo || d.Duration > hi {
		ps.add(path, "%s is out of range; use %s to %s", d, human(lo), human(hi))
	}
}

func (j Journal) validate(ps *problems) {
	if j.MaxSize.Bytes < 1<<20 {
		ps.add("journal.max_size", "%s is too small; give the journal at least \"1MiB\" (default \"512MiB\")", j.MaxSize)
	}
	// bbolt grows the file in 1 MiB steps, so the cap must leave room for
	// the reserve twice over plus one step (kiosk/journal checks the same).
	if j.Reserve.Bytes < 64<<10 || j.MaxSize.Bytes < 2*j.Reserve.Bytes+2<<20 {
		ps.add("journal.reserve", "%s must be at least \"64KiB\", and journal.max_size (%s) at least twice the reserve plus 2MiB", j.Reserve, j.MaxSize)
	}
	if j.TelemetryBudget < 100 || j.TelemetryBudget > 1_000_000 {
		ps.add("journal.telemetry_budget", "%d is out of range; use 100 to 1000000 (default 10000)", j.TelemetryBudget)
	}
}
