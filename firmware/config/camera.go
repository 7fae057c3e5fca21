package config

import (
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"time"
)

// Camera is one IP camera, pulled over RTSP by a child process of its own.
type Camera struct {
	ID              string   `toml:"id"`               // [a-z0-9-]{1,64}
	URL             string   `toml:"url"`              // rtsp://host[:port]/path, no user:password
	CredentialsFile string   `toml:"credentials_file"` // absolute; one line "user:password"; optional
	Covers          []string `toml:"covers"`           // request types, button names, "screen", "tamper"; empty: every call
	PreRoll         Duration `toml:"pre_roll"`         // kept before the press
	PostRoll        Duration `toml:"post_roll"`        // recorded after the press
	PostRollCap     Duration `toml:"post_roll_cap"`    // the longest a clip runs after the press, extensions included
}

// Clips is where clips are kept and for how long.
type Clips struct {
	Dir      string   `toml:"dir"`       // absolute; default state_dir/clips
	MaxAge   Duration `toml:"max_age"`   // clips older than this are deleted, once the platform has them
	Quota    Size     `toml:"quota"`     // all clips together, at most
	LowDisk  Size     `toml:"low_disk"`  // free space under this raises a fault
	TokenTTL Duration `toml:"token_ttl"` // how long a clip or live-view link stays valid
	// The clip server the platform fetches clips from (firmware/cameras/clip_fetch.go).
	FetchListen      string `toml:"fetch_listen"`        // host:port; empty: no clip server
	FetchAddress     string `toml:"fetch_address"`       // host:port put in fetch URLs; default fetch_listen
	FetchTLSCertFile string `toml:"fetch_tls_cert_file"` // absolute; with fetch_tls_key_file, serve HTTPS
	FetchTLSKeyFile  string `toml:"fetch_tls_key_file"`  //
}

// FetchTLS reports whether the clip server speaks HTTPS.
func (cl Clips) FetchTLS() bool { return cl.FetchTLSCertFile != "" }

// Relay is the kiosk's RTSP re-serving of its cameras (firmware/cameras/relay.go).
type Relay struct {
	Address string `toml:"address"` // host:port put in live-view references
	// Listen is where the relay serves RTSP; nil (left out) is
	// DefaultRelayListen, "" turns the relay off.
	Listen *string `toml:"listen"`
}

// DefaultRelayListen is relay.listen on the box: every interface.
const DefaultRelayListen = ":8554"

// RelayListen is relay.listen, "" when the relay is off.
func (r Relay) RelayListen() string {
	if r.Listen == nil {
		return ""
	}
	return *r.Listen
}

// DefaultRelayPort is the port of live-view references when relay.address
// names none.
const DefaultRelayPort = 8554

func (c *Config) applyCameraDefaults() {
	for i := range c.Cameras {
		cam := &c.Cameras[i]
		orDuration(&cam.PreRoll, 10*time.Second)
		orDuration(&cam.PostRoll, 20*time.Second)
		orDuration(&cam.PostRollCap, 2*time.Minute)
	}
	if c.Clips.Dir == "" && c.Kiosk.StateDir != "" {
		c.Clips.Dir = filepath.Join(c.Kiosk.StateDir, "clips")
	}
	orDuration(&c.Clips.MaxAge, 30*24*time.Hour)
	orSize(&c.Clips.Quota, 4<<30)
	orSize(&c.Clips.LowDisk, 1<<30)
	orDuration(&c.Clips.TokenTTL, time.Hour)
	if c.Clips.FetchAddress == "" {
		c.Clips.FetchAddress = c.Clips.FetchListen
	}
	if c.Relay.Listen == nil {
		c.Relay.Listen = new(string)
		*c.Relay.Listen = DefaultRelayListen
	}
	if c.Relay.Address == "" {
		host, _, _ := net.SplitHostPort(c.HTTP.Listen)
		port := strconv.Itoa(DefaultRelayPort)
		if _, p, err := net.SplitHostPort(c.Relay.RelayListen()); err == nil && p != "" && p != "0" {
			port = p // the relay's own port
		}
		c.Relay.Address = net.JoinHostPort(host, port)
	}
}

func (c *Config) validateCameras(ps *problems) {
	ids := map[string]string{}
	covers := append([]string{"screen", "tamper"}, requestTypes...)
	for _, b := range c.Buttons {
		covers = append(covers, b.Name)
	}
	for i, cam := range c.Cameras {
		p := fmt.Sprintf("cameras[%d]", i)
		ps.cameraID(p+".id", cam.ID, ids)
		validateCameraURL(ps, p+".url", cam.URL)
		if cam.CredentialsFile != "" && !filepath.IsAbs(cam.CredentialsFile) {
			ps.add(p+".credentials_file", "%q is not an absolute path; write it from the root, e.g. \"/etc/kioskd/camera-door\"", cam.CredentialsFile)
		}
		for j, cv := range cam.Covers {
			if !slices.Contains(covers, cv) {
				ps.add(fmt.Sprintf("%s.covers[%d]", p, j), "%q is neither a request type, a button name, \"screen\" nor \"tamper\"", cv)
			}
		}
		ps.within(p+".pre_roll", cam.PreRoll, time.Second, time.Minute)
		ps.within(p+".post_roll", cam.PostRoll, time.Second, 10*time.Minute)
		if cam.PostRollCap.Duration < cam.PostRoll.Duration || cam.PostRollCap.Duration > time.Hour {
			ps.add(p+".post_roll_cap", "%s must be at least post_roll (%s) and at most 1h", cam.PostRollCap, cam.PostRoll)
		}
	}
	c.Clips.validate(ps)
	if _, _, err := net.SplitHostPort(c.Relay.Address); err != nil {
		ps.add("relay.address", "%q is not host:port, e.g. \"192.168.1.20:8554\"", c.Relay.Address)
	}
	if l := c.Relay.RelayListen(); l != "" {
		if _, _, err := net.SplitHostPort(l); err != nil {
			ps.add("relay.listen", "%q is not host:port; write e.g. \":8554\" (every interface), or \"\" for no relay", l)
		}
	}
}

func (ps *problems) cameraID(path, id string, seen map[string]string) {
	switch {
	case id == "":
		ps.add(path, "missing; give the camera a short id such as \"door\"")
	case !namePattern.MatchString(id):
		ps.add(path, "%q is not a valid id; use 1 to 64 lowercase letters, digits and dashes", id)
	case seen[id] != "":
		ps.add(path, "%q is already the id of %s; ids must be unique", id, seen[id])
	default:
		seen[id] = path
	}
}

func validateCameraURL(ps *problems, path, raw string) {
	const hint = "write rtsp://host[:port]/path, e.g. \"rtsp://192.168.1.64:554/Streaming/Channels/101\""
	u, err := url.Parse(raw)
	switch {
	case raw == "":
		ps.add(path, "missing; %s", hint)
	case err != nil || u.Scheme != "rtsp" || u.Hostname() == "":
		ps.add(path, "%q is not an rtsp:// URL; %s", raw, hint)
	case u.User != nil:
		ps.add(path, "holds a user name or password; secrets are never written in the config: put \"user:password\" in a file and set credentials_file")
	}
}

func (cl Clips) validate(ps *problems) {
	if !filepath.IsAbs(cl.Dir) {
		ps.add("clips.dir", "%q is not an absolute path; write it from the root, e.g. \"/var/lib/kioskd/clips\"", cl.Dir)
	}
	ps.within("clips.max_age", cl.MaxAge, time.Hour, 10*365*24*time.Hour)
	if cl.Quota.Bytes < 64<<20 {
		ps.add("clips.quota", "%s is too small; give clips at least \"64MiB\" (default \"4GiB\")", cl.Quota)
	}
	if cl.LowDisk.Bytes < 16<<20 {
		ps.add("clips.low_disk", "%s is too small; use at least \"16MiB\" (default \"1GiB\")", cl.LowDisk)
	}
	ps.within("clips.token_ttl", cl.TokenTTL, time.Minute, 7*24*time.Hour)
	cl.validateFetch(ps)
}

func (cl Clips) validateFetch(ps *problems) {
	const hint = "write e.g. \"10.8.0.20:8082\" (the post's LAN or VPN address the platform reaches)"
	if cl.FetchListen != "" && !validHostPort(cl.FetchListen) {
		ps.add("clips.fetch_listen", "%q is not host:port with a port from 1 to 65535; %s, or \"\" for no clip server", cl.FetchListen, hint)
	}
	switch {
	case cl.FetchListen == "" && cl.FetchAddress != "":
		ps.add("clips.fetch_address", "is set but fetch_listen is empty: no clip server would answer it; set fetch_listen too")
	case cl.FetchAddress != "" && !validHostPort(cl.FetchAddress):
		ps.add("clips.fetch_address", "%q is not host:port with a port from 1 to 65535; %s", cl.FetchAddress, hint)
	}
	if (cl.FetchTLSCertFile == "") != (cl.FetchTLSKeyFile == "") {
		ps.add("clips.fetch_tls_cert_file", "fetch_tls_cert_file and fetch_tls_key_file go together; set both for HTTPS, or neither")
	} else if cl.FetchTLS() && cl.FetchListen == "" {
		ps.add("clips.fetch_tls_cert_file", "is set but fetch_listen is empty: there is no clip server to serve HTTPS; set fetch_listen too")
	}
	for _, f := range []struct{ key, path string }{{"clips.fetch_tls_cert_file", cl.FetchTLSCertFile}, {"clips.fetch_tls_key_file", cl.FetchTLSKeyFile}} {
		if f.path != "" && !filepath.IsAbs(f.path) {
			ps.add(f.key, "%q is not an absolute path; write it from the root, e.g. \"/etc/kioskd/tls/clips.pem\"", f.path)
		}
	}
}

// validHostPort reports whether addr is host:port with a port from 1 to 65535.
func validHostPort(addr string) bool {
	_, port, err := net.SplitHostPort(addr)
	n, perr := strconv.Atoi(port)
	return err == nil && perr == nil && n >= 1 && n <= 65535
}

// SimCamera returns a camera with the defaults filled in, for the simulation
// mode and tests that add cameras (fakecam's URLs) to Sim's config.
func SimCamera(id, rtspURL string) Camera {
	c := Config{Cameras: []Camera{{ID: id, URL: rtspURL}}}
	c.applyCameraDefaults()
	return c.Cameras[0]
}
