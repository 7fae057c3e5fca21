package config

import (
	"strings"
	"testing"
	"time"
)

const exampleHash = "$argon2id$v=19$m=19456,t=2,p=1$5afZFGHGNQ5L319eoataFA$U6LhHF0uFH5xnG4x01RQdk97yHuKBc+PUUYBQBr3bRw"

func guardDoc(lines ...string) string {
	return valid + "[guard]\n" + strings.Join(lines, "\n") + "\n"
}

func guardUser(name, hash string) string {
	return "[[guard.user]]\nname = \"" + name + "\"\npassword_hash = \"" + hash + "\""
}

func TestGuardDefaults(t *testing.T) {
	c, err := Parse([]byte(valid))
	if err != nil {
		t.Fatal(err)
	}
	g := c.Guard
	if g.Listen != "" || g.TLS() || g.SessionIdle.Duration != 30*time.Minute || g.SessionMax.Duration != 12*time.Hour ||
		g.LockoutAfter != 5 || g.Lockout.Duration != 15*time.Minute || len(g.Users) != 0 {
		t.Errorf("guard without a [guard] table = %+v, want no console and the defaults", g)
	}
	c, err = Parse([]byte(guardDoc(`listen = "192.168.1.20:8081"`, guardUser("张伟", exampleHash))))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Guard.Users; len(got) != 1 || got[0].Name != "张伟" || got[0].PasswordHash != exampleHash {
		t.Errorf("guard users = %+v", got)
	}
}

func TestGuardValidateErrors(t *testing.T) {
	user := guardUser("张伟", exampleHash)
	tests := []struct {
		name string
		doc  string
		want string
	}{
		{"listen without users", guardDoc(`listen = "127.0.0.1:8081"`), `guard.listen: is set but no [[guard.user]] may log in`},
		{"listen bad", guardDoc(`listen = "8081"`, user), `guard.listen: "8081" is not host:port`},
		{"listen bad port", guardDoc(`listen = ":0"`, user), `guard.listen: ":0" has no valid port`},
		{"tls half", guardDoc(`tls_cert_file = "/etc/kioskd/guard.crt"`), `guard.tls_cert_file: tls_cert_file and tls_key_file go together`},
		{"tls relative", guardDoc(`tls_cert_file = "guard.crt"`, `tls_key_file = "/k"`), `guard.tls_cert_file: "guard.crt" is not an absolute path`},
		{"idle range", guardDoc(`session_idle = "48h"`), `guard.session_idle: 48h is out of range`},
		{"max under idle", guardDoc(`session_idle = "2h"`, `session_max = "1h"`), `guard.session_max: 1h is shorter than session_idle (2h)`},
		{"lockout after", guardDoc(`lockout_after = 1000`), `guard.lockout_after: 1000 is out of range`},
		{"lockout range", guardDoc(`lockout = "72h"`), `guard.lockout: 72h is out of range`},
		{"plain password", guardDoc(guardUser("张伟", "hunter2")), `guard.user[0].password_hash: not an argon2id`},
		{"name missing", guardDoc(guardUser("", exampleHash)), `guard.user[0].name: missing`},
		{"name spaces", guardDoc(guardUser(" 张伟", exampleHash)), `guard.user[0].name: " 张伟" is not a usable name`},
		{"name twice", guardDoc(user, user), `guard.user[1].name: "张伟" is already the name of guard.user[0]`},
		{"unknown key", guardDoc(`password = "x"`), `guard.password: unknown key`},
	}
	for _, tt := range tests {
		_, err := Parse([]byte(tt.doc))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error = %v, want it to contain %q", tt.name, err, tt.want)
		}
	}
}
