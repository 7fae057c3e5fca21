package config

import (
	"cmp"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"kioskd/cloudlink/contract"
	"kioskd/kiosk/screen/guardauth/passwordhash"
)

// Guard is the guard console: its own listener, its users and its door.
type Guard struct {
	Listen       string      `toml:"listen"`        // host:port; empty: no console
	TLSCertFile  string      `toml:"tls_cert_file"` // absolute; with tls_key_file, serve HTTPS
	TLSKeyFile   string      `toml:"tls_key_file"`  //
	SessionIdle  Duration    `toml:"session_idle"`  // a session unused this long ends
	SessionMax   Duration    `toml:"session_max"`   // a session ends this long after login
	LockoutAfter int         `toml:"lockout_after"` // wrong passwords before a name is locked out
	Lockout      Duration    `toml:"lockout"`       // how long a lockout lasts
	Users        []GuardUser `toml:"user"`
}

// GuardUser is one guard who may log in.
type GuardUser struct {
	Name         string `toml:"name"`          // shown on everything they do
	PasswordHash string `toml:"password_hash"` // argon2id or bcrypt; `kioskd hash-password` makes one
}

// TLS reports whether the console is served over HTTPS.
func (g Guard) TLS() bool { return g.TLSCertFile != "" }

func (c *Config) applyGuardDefaults() {
	g := &c.Guard
	orDuration(&g.SessionIdle, 30*time.Minute)
	orDuration(&g.SessionMax, 12*time.Hour)
	orDuration(&g.Lockout, 15*time.Minute)
	g.LockoutAfter = cmp.Or(g.LockoutAfter, 5)
}

func (g Guard) validate(ps *problems) {
	if g.Listen != "" {
		if _, port, err := net.SplitHostPort(g.Listen); err != nil {
			ps.add("guard.listen", "%q is not host:port; write e.g. \"192.168.1.20:8081\" (the post's LAN address), or \"\" for no console", g.Listen)
		} else if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			ps.add("guard.listen", "%q has no valid port; the port is a number from 1 to 65535", g.Listen)
		}
		if len(g.Users) == 0 {
			ps.add("guard.listen", "is set but no [[guard.user]] may log in; add one (kioskd hash-password makes its password_hash), or set listen = \"\"")
		}
	}
	if (g.TLSCertFile == "") != (g.TLSKeyFile == "") {
		ps.add("guard.tls_cert_file", "tls_cert_file and tls_key_file go together; set both for HTTPS, or neither")
	}
	for _, f := range []struct{ key, path string }{{"guard.tls_cert_file", g.TLSCertFile}, {"guard.tls_key_file", g.TLSKeyFile}} {
		if f.path != "" && !filepath.IsAbs(f.path) {
			ps.add(f.key, "%q is not an absolute path; write it from the root, e.g. \"/etc/kioskd/guard.crt\"", f.path)
		}
	}
	ps.within("guard.session_idle", g.SessionIdle, time.Second, 24*time.Hour)
	ps.within("guard.session_max", g.SessionMax, time.Minute, 7*24*time.Hour)
	if g.SessionMax.Duration < g.SessionIdle.Duration {
		ps.add("guard.session_max", "%s is shorter than session_idle (%s)", g.SessionMax, g.SessionIdle)
	}
	if g.LockoutAfter < 1 || g.LockoutAfter > 100 {
		ps.add("guard.lockout_after", "%d is out of range; use 1 to 100 (default 5)", g.LockoutAfter)
	}
	ps.within("guard.lockout", g.Lockout, time.Second, 24*time.Hour)
	g.validateUsers(ps)
}

func (g Guard) validateUsers(ps *problems) {
	seen := map[string]string{}
	for i, u := range g.Users {
		p := fmt.Sprintf("guard.user[%d]", i)
		switch {
		case u.Name == "":
			ps.add(p+".name", "missing; the guard's name as it should appear on what they do, e.g. \"张伟\"")
		case contract.NameLimit.Check("name", u.Name, true) != nil || u.Name != strings.TrimSpace(u.Name):
			ps.add(p+".name", "%.80q is not a usable name; at most %d characters and %d bytes, no control characters, no leading or trailing spaces",
				u.Name, contract.MaxNameRunes, contract.MaxNameBytes)
		case seen[u.Name] != "":
			ps.add(p+".name", "%q is already the name of %s; names must be unique", u.Name, seen[u.Name])
		default:
			seen[u.Name] = p
		}
		if err := passwordhash.Check(u.PasswordHash); err != nil {
			ps.add(p+".password_hash", "%v; make one with: kioskd hash-password", err)
		}
	}
}
