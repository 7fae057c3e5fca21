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
