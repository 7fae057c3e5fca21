package config

import (
	"strings"
	"testing"
)

func TestParseSecurityErrors(t *testing.T) {
	tls := func(lines string) string {
		return edit("broker = \"tcp://10.0.0.5:1883\"\nallow_plain = true", "broker = \"ssl://10.0.0.5:8883\"\n"+lines)
	}
	tests := []struct {
		name string
		doc  string
		want []string // substrings of the error; none for a valid config
	}{
		{"plain refused", edit("allow_plain = true", "allow_plain = false"), []string{
			`line 8: mqtt.broker: "tcp://10.0.0.5:1883" is plain TCP`,
			`use TLS, e.g. "ssl://10.0.0.5:8883" with mqtt.ca_file, cert_file and key_file`,
			"or, for a lab or test broker only, set mqtt.allow_plain = true"}},
		{"mqtt scheme is plain too", edit("broker = \"tcp://10.0.0.5:1883\"\nallow_plain = true", `broker = "mqtt://10.0.0.5:1883"`),
			[]string{`mqtt.broker: "mqtt://10.0.0.5:1883" is plain TCP`}},
		{"tls with files", tls("ca_file = \"/etc/kioskd/ca.pem\"\ncert_file = \"/etc/kioskd/k.pem\"\nkey_file = \"/etc/kioskd/k.key\""), nil},
		{"tls, system roots", tls(""), nil},
		{"relative ca", tls(`ca_file = "ca.pem"`), []string{`line 9: mqtt.ca_file: "ca.pem" is not an absolute path`}},
		{"cert without key", tls(`cert_file = "/etc/kioskd/k.pem"`), []string{"mqtt.cert_file: cert_file and key_file go together"}},
		{"files with plain broker", edit("allow_plain = true", "allow_plain = true\nca_file = \"/etc/kioskd/ca.pem\""),
			[]string{`line 10: mqtt.ca_file: is set but mqtt.broker "tcp://10.0.0.5:1883" is plain TCP`}},
		{"keys", valid + "[commands]\npublic_key_files = [\"/etc/kioskd/a.pem\", \"/etc/kioskd/b.pem\"]\n", nil},
		{"relative key", valid + "[commands]\npublic_key_files = [\"a.pem\"]\n", []string{
			`commands.public_key_files[0]: "a.pem" is not an absolute path`}},
		{"key twice", valid + "[commands]\npublic_key_files = [\"/etc/a.pem\", \"/etc/a.pem\"]\n", []string{
			`commands.public_key_files[1]: "/etc/a.pem" is listed twice`}},
		{"unsigned with keys", valid + "[commands]\npublic_key_files = [\"/etc/a.pem\"]\nallow_unsigned = true\n", []string{
			"line 21: commands.allow_unsigned: is true but public_key_files are set"}},
		{"unsigned alone", valid + "[commands]\nallow_unsigned = true\n", nil},
		{"ack keys", valid + "[acks]\npublic_key_files = [\"/etc/kioskd/ack-a.pem\", \"/etc/kioskd/ack-b.pem\"]\n", nil},
		{"relative ack key", valid + "[acks]\npublic_key_files = [\"ack.pem\"]\n", []string{
			`line 20: acks.public_key_files[0]: "ack.pem" is not an absolute path`}},
		{"ack key twice", valid + "[acks]\npublic_key_files = [\"/etc/a.pem\", \"/etc/a.pem\"]\n", []string{
			`acks.public_key_files[1]: "/etc/a.pem" is listed twice`}},
		{"ack key is the release key", valid + "[acks]\npublic_key_files = [\"/etc/r.pem\"]\n[update]\npublic_key_files = [\"/etc/r.pem\"]\n", []string{
			`acks.public_key_files[0]: "/etc/r.pem" is also a release key`}},
		{"unsigned with ack keys", valid + "[commands]\nallow_unsigned = true\n[acks]\npublic_key_files = [\"/etc/a.pem\"]\n", []string{
			"acks.public_key_files: is set but commands.allow_unsigned is true"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.want == nil {
				if _, err := Parse([]byte(tt.doc)); err != nil {
					t.Fatalf("Parse: %v", err)
				}
				return
			}
			checkErr(t, tt.doc, tt.want)
		})
	}
}

func TestSimAllowsPlain(t *testing.T) {
	c := Sim(t.TempDir())
	if !c.MQTT.AllowPlain || !strings.HasPrefix(c.MQTT.Broker, "tcp://") {
		t.Errorf("Sim: broker %q allow_plain %v, want a plain local broker, allowed", c.MQTT.Broker, c.MQTT.AllowPlain)
	}
}

func TestAckKeyFilesDefaultToCommandKeys(t *testing.T) {
	c := Sim(t.TempDir())
	c.Commands.PublicKeyFiles = []string{"/etc/kioskd/cmd.pem"}
	if got := c.AckKeyFiles(); len(got) != 1 || got[0] != "/etc/kioskd/cmd.pem" {
		t.Errorf("no acks.public_key_files: AckKeyFiles() = %v, want the command key", got)
	}
	c.Acks.PublicKeyFiles = []string{"/etc/kioskd/ack.pem"}
	if got := c.AckKeyFiles(); len(got) != 1 || got[0] != "/etc/kioskd/ack.pem" {
		t.Errorf("acks.public_key_files set: AckKeyFiles() = %v, want only the ack key", got)
	}
}
