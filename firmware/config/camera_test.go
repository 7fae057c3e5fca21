package config

import (
	"strings"
	"testing"
)

func TestCameraConfig(t *testing.T) {
	base := Example()
	tests := []struct {
		name, from, to string
		want           string // "" for valid
	}{
		{"example", "", "", ""},
		{"credentials in the url", `url = "rtsp://192.168.1.64`, `url = "rtsp://admin:secret@192.168.1.64`, "cameras[0].url: holds a user name or password"},
		{"not rtsp", `url = "rtsp://192.168.1.64`, `url = "http://192.168.1.64`, "cameras[0].url: \"http://"},
		{"unknown cover", `covers = ["police", "tamper"]`, `covers = ["polise"]`, "cameras[0].covers[0]: \"polise\""},
		{"cap under post-roll", `post_roll_cap = "2m"`, `post_roll_cap = "5s"`, "cameras[0].post_roll_cap"},
		{"relative clips dir", `dir = "/var/lib/kioskd/clips"`, `dir = "clips"`, "clips.dir"},
		{"tiny quota", `quota = "4GiB"`, `quota = "1MiB"`, "clips.quota"},
	}
	for _, tt := range tests {
		_, err := Parse([]byte(strings.Replace(base, tt.from, tt.to, 1)))
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%s: error %v, want it to say %q", tt.name, err, tt.want)
		}
	}
	c := SimCamera("door", "rtsp://127.0.0.1:8560/stream")
	if c.PreRoll.Seconds() != 10 || c.PostRoll.Seconds() != 20 || c.PostRollCap.Minutes() != 2 {
		t.Errorf("SimCamera defaults = %+v", c)
	}
}

func TestClipFetchConfig(t *testing.T) {
	const (
		listen  = `fetch_listen = "10.8.0.20:8082"`
		address = `fetch_address = "10.8.0.20:8082"`
		cert    = `fetch_tls_cert_file = "/etc/kioskd/tls/clips.pem"`
		key     = `fetch_tls_key_file = "/run/credentials/kioskd.service/kioskd_clips.key"`
	)
	tests := []struct {
		name            string
		edits           []string // old, new, old, new...
		want            string   // the problem; "" for valid
		listen, address string   // when valid
	}{
		{"example", nil, "", "10.8.0.20:8082", "10.8.0.20:8082"},
		{"address from listen", []string{address, ``}, "", "10.8.0.20:8082", "10.8.0.20:8082"},
		{"every interface", []string{listen, `fetch_listen = ":8082"`, address, ``}, "", ":8082", ":8082"},
		{"behind a port forward", []string{address, `fetch_address = "post-0571.vpn.example.cn:18082"`}, "",
			"10.8.0.20:8082", "post-0571.vpn.example.cn:18082"},
		{"no clip server", []string{listen, ``, address, ``, cert, ``, key, ``}, "", "", ""},
		{"plain HTTP", []string{cert, ``, key, ``}, "", "10.8.0.20:8082", "10.8.0.20:8082"},
		{"no port", []string{listen, `fetch_listen = "10.8.0.20"`}, `clips.fetch_listen: "10.8.0.20" is not host:port`, "", ""},
		{"port 0", []string{listen, `fetch_listen = ":0"`}, `clips.fetch_listen: ":0" is not host:port`, "", ""},
		{"address a URL", []string{address, `fetch_address = "https://10.8.0.20"`}, `clips.fetch_address: "https://10.8.0.20" is not host:port`, "", ""},
		{"address without a server", []string{listen, ``}, "clips.fetch_address: is set but fetch_listen is empty", "", ""},
		{"TLS without a server", []string{listen, ``, address, ``}, "clips.fetch_tls_cert_file: is set but fetch_listen is empty", "", ""},
		{"key without cert", []string{cert, ``}, "clips.fetch_tls_cert_file: fetch_tls_cert_file and fetch_tls_key_file go together", "", ""},
		{"relative key", []string{key, `fetch_tls_key_file = "clips.key"`}, `clips.fetch_tls_key_file: "clips.key" is not an absolute path`, "", ""},
	}
	base := Example()
	for _, tt := range tests {
		text := base
		for i := 0; i+1 < len(tt.edits); i += 2 {
			if !strings.Contains(text, tt.edits[i]) {
				t.Fatalf("%s: the example has no %q", tt.name, tt.edits[i])
			}
			text = strings.Replace(text, tt.edits[i], tt.edits[i+1], 1)
		}
		c, err := Parse([]byte(text))
		switch {
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%s: error %v, want it to say %q", tt.name, err, tt.want)
		case tt.want == "" && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case tt.want == "" && (c.Clips.FetchListen != tt.listen || c.Clips.FetchAddress != tt.address):
			t.Errorf("%s: fetch_listen %q, fetch_address %q; want %q, %q", tt.name, c.Clips.FetchListen, c.Clips.FetchAddress, tt.listen, tt.address)
		}
	}
}
