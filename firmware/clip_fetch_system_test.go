package firmware_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"kioskd/cloudlink/contract"
	"kioskd/firmware/config"
	"kioskd/hack/brokertest"
)

// The clip server end to end, as the platform uses it: the fetch URL of
// clip.ready and of a clip_link reply, GET with Range, tokens refused, and
// nothing else served there.

// withClipServer runs the clip server at addr; its fetch address is left
// to default (to fetch_listen).
func withClipServer(addr string) func(*config.Config) {
	return func(c *config.Config) { c.Clips.FetchListen, c.Clips.FetchAddress = addr, "" }
}

// freeAddr is a free port on 127.0.0.1.
func freeAddr(t *testing.T) string { return fmt.Sprintf("127.0.0.1:%d", brokertest.FreePort(t)) }

// httpDo sends a request, with a Range header if rng is set, and returns
// the status and body.
func httpDo(t *testing.T, method, u, rng string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rng != "" {
		req.Header.Set("Range", rng)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, body
}

// fetchClip GETs a clip's fetch URL into a file and returns its path.
func fetchClip(t *testing.T, fetch string) string {
	t.Helper()
	if fetch == "" {
		t.Fatal("no fetch URL: is the clip server on (clips.fetch_listen)?")
	}
	status, body := httpDo(t, "GET", fetch, "")
	if status != http.StatusOK {
		t.Fatalf("GET %s: %d %.200q", fetch, status, body)
	}
	path := filepath.Join(t.TempDir(), "clip.mp4")
	if err := os.WriteFile(path, body, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// checkClipServer checks a ready clip's fetch URL, from the clip.ready
// event, on the clip server at fetchAddr: the whole clip and a range of
// it; bad tokens refused; the citizen screen's listener (k.http) not
// serving clips and the clip server serving nothing but clips.
func checkClipServer(t *testing.T, k *kioskProc, state, fetchAddr string, clip contract.Clip) {
	t.Helper()
	prefix := "http://" + fetchAddr + "/api/clips/" + clip.ID + "?token="
	if !strings.HasPrefix(clip.Fetch, prefix) {
		t.Fatalf("clip.ready fetch %q, want %s...", clip.Fetch, prefix)
	}
	path := fetchClip(t, clip.Fetch)
	if sum := fileSHA(t, path); sum != clip.SHA256 {
		t.Errorf("fetched clip sha256 %s, event says %s", sum, clip.SHA256)
	}
	whole, _ := os.ReadFile(path)
	if status, part := httpDo(t, "GET", clip.Fetch, "bytes=1000-1999"); status != http.StatusPartialContent || !bytes.Equal(part, whole[1000:2000]) {
		t.Errorf("Range bytes=1000-1999: %d, %d bytes, same as the file's: %v; want 206, 1000 bytes, the same",
			status, len(part), bytes.Equal(part, whole[1000:min(2000, len(whole))]))
	}
	token := clip.Fetch[len(prefix):]
	other := "clip-0123456789abcdef"
	refused := []struct {
		name, url string
		want      int
	}{
		{"no token", prefix, http.StatusForbidden},
		{"malformed token", prefix + "1.AAAA", http.StatusForbidden},
		{"expired token", prefix + clipToken(t, state, clip.ID, time.Now().Add(-time.Second)), http.StatusForbidden},
		{"another clip's token", "http://" + fetchAddr + "/api/clips/" + other + "?token=" + token, http.StatusForbidden},
		{"a live-view token", prefix + url.QueryEscape(liveToken(t, state, clip.ID, time.Now().Add(time.Minute))), http.StatusForbidden},
		{"the citizen screen's listener", k.http + "/api/clips/" + clip.ID + "?token=" + token, http.StatusNotFound},
		{"the citizen screen", "http://" + fetchAddr + "/", http.StatusNotFound},
		{"the kiosk state", "http://" + fetchAddr + "/api/state", http.StatusNotFound},
		{"the cameras", "http://" + fetchAddr + "/api/cameras", http.StatusNotFound},
		{"health", "http://" + fetchAddr + "/healthz", http.StatusNotFound},
		{"a simulated button", "http://" + fetchAddr + "/api/sim/buttons/police/press", http.StatusNotFound},
	}
	for _, tt := range refused {
		if status, body := httpDo(t, "GET", tt.url, ""); status != tt.want {
			t.Errorf("%s: GET %s: %d %.80q, want %d", tt.name, tt.url, status, body, tt.want)
		}
	}
	if status, _ := httpDo(t, "POST", "http://"+fetchAddr+"/api/calls", ""); status != http.StatusNotFound {
		t.Errorf("POST /api/calls on the clip server: %d, want 404", status)
	}
}

// checkClipLink asks clip_link for a fresh URL and fetches the clip with it.
func checkClipLink(t *testing.T, plat *platform, incident string, clip contract.Clip) {
	t.Helper()
	r := plat.waitReply(plat.command(contract.CmdClipLink, contract.ClipLinkArgs{Incident: incident, Clip: clip.ID}))
	var link contract.ClipLink
	if !r.OK || json.Unmarshal(r.Result, &link) != nil {
		t.Fatalf("clip_link reply %+v, result %s", r, r.Result)
	}
	if link.Clip != clip.ID || link.SHA256 != clip.SHA256 || link.Bytes != clip.Bytes || time.Until(link.Expires) < 50*time.Minute {
		t.Errorf("clip_link result %+v, want clip %s valid for about the 1h token_ttl", link, clip.ID)
	}
	if sum := fileSHA(t, fetchClip(t, link.Fetch)); sum != clip.SHA256 {
		t.Errorf("clip fetched with clip_link's URL: sha256 %s, want %s", sum, clip.SHA256)
	}
	refusals := []struct {
		args contract.ClipLinkArgs
		code string
	}{
		{contract.ClipLinkArgs{Incident: incident, Clip: "clip-nope"}, contract.ErrNotFound},
		{contract.ClipLinkArgs{Incident: "inc-other", Clip: clip.ID}, contract.ErrNotFound},
		{contract.ClipLinkArgs{Incident: incident}, contract.ErrBadArgs},
	}
	for _, tt := range refusals {
		r := plat.waitReply(plat.command(contract.CmdClipLink, tt.args))
		if r.OK || r.Error == nil || r.Error.Code != tt.code || len(r.Result) != 0 {
			t.Errorf("clip_link %+v: reply %+v, want %s and no result", tt.args, r, tt.code)
		}
	}
}
