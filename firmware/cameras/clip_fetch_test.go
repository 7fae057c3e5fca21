package cameras

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"kioskd/cloudlink/contract"
	"kioskd/firmware/config"
	"kioskd/hack/brokertest"
	"kioskd/kiosk"
)

func clipLinkArgs(incident, clip string) contract.ClipLinkArgs {
	return contract.ClipLinkArgs{Incident: incident, Clip: clip}
}

// With a clip server, clip.ready carries a fetch URL and clip_link gives
// a fresh one; the tokens in both open the clip.
func TestClipLink(t *testing.T) {
	r := newCamRig(t, map[string]string{"door": "online"}, func(c *config.Config) {
		// The clip server listens on loopback; its URLs name the address the platform reaches.
		c.Clips.FetchListen, c.Clips.FetchAddress = fmt.Sprintf("127.0.0.1:%d", brokertest.FreePort(t)), "post-0571.vpn.example.cn:18082"
	})
	inc, clip := r.readyClip()
	const base = "http://post-0571.vpn.example.cn:18082/api/clips/"
	refusals := []struct {
		args contract.ClipLinkArgs
		code string
	}{
		{clipLinkArgs(inc, "clip-nope"), contract.ErrNotFound},
		{clipLinkArgs("inc-other", clip.ID), contract.ErrNotFound},
	}
	for _, tt := range refusals {
		if res, rerr := r.cs.ClipLink(t.Context(), tt.args); rerr == nil || rerr.Code != tt.code || res != nil {
			t.Errorf("ClipLink(%+v) = %s, %v; want %s", tt.args, res, rerr, tt.code)
		}
	}
	res, rerr := r.cs.ClipLink(t.Context(), clipLinkArgs(inc, clip.ID))
	if rerr != nil {
		t.Fatalf("clipLink = %v", rerr)
	}
	var link contract.ClipLink
	if err := json.Unmarshal(res, &link); err != nil {
		t.Fatal(err)
	}
	if link.Clip != clip.ID || link.SHA256 != clip.SHA256 || link.Bytes != clip.Bytes {
		t.Errorf("clip_link result %+v, want the clip %+v", link, clip)
	}
	if d := time.Until(link.Expires); d < r.cfg.Clips.TokenTTL.Duration-2*time.Second || d > r.cfg.Clips.TokenTTL.Duration {
		t.Errorf("expires in %s, want about token_ttl %s", d, r.cfg.Clips.TokenTTL)
	}
	for what, fetch := range map[string]string{"clip.ready": clip.Fetch, "clip_link": link.Fetch} {
		u, err := url.Parse(fetch)
		if err != nil || !strings.HasPrefix(fetch, base+clip.ID+"?token=") {
			t.Errorf("%s fetch %q, want %s%s?token=...", what, fetch, base, clip.ID)
			continue
		}
		if err := r.cs.tokens.Check("clip", clip.ID, u.Query().Get("token")); err != nil {
			t.Errorf("%s token: %v", what, err)
		}
	}
}

// Without a clip server, clip.ready has no fetch URL and clip_link is
// rejected: the platform must ask for upload_clip.
func TestClipLinkNoServer(t *testing.T) {
	r := newCamRig(t, map[string]string{"door": "online"})
	inc, clip := r.readyClip()
	if clip.Fetch != "" {
		t.Errorf("clip.ready fetch %q without a clip server", clip.Fetch)
	}
	if res, rerr := r.cs.ClipLink(t.Context(), clipLinkArgs(inc, clip.ID)); rerr == nil || rerr.Code != contract.ErrRejected {
		t.Errorf("clipLink = %s, %v; want rejected", res, rerr)
	}
	if len(r.events(kiosk.EvClipReady)) != 1 {
		t.Errorf("clip.ready events: %d, want 1", len(r.events(kiosk.EvClipReady)))
	}
}

func TestFetchBase(t *testing.T) {
	tests := []struct {
		name string
		cl   config.Clips
		want string
	}{
		{"off", config.Clips{}, ""},
		{"plain", config.Clips{FetchListen: "10.8.0.20:8082"}, "http://ADDR"},
		{"TLS", config.Clips{FetchListen: "10.8.0.20:8082", FetchTLSCertFile: "/c", FetchTLSKeyFile: "/k"}, "https://ADDR"},
	}
	for _, tt := range tests {
		if got := fetchBase(tt.cl, "ADDR"); got != tt.want {
			t.Errorf("%s: fetchBase = %q, want %q", tt.name, got, tt.want)
		}
	}
	for _, addr := range []string{":8082", "0.0.0.0:8082", "[::]:8082"} {
		if got := advertised(addr); strings.HasPrefix(got, ":") || strings.Contains(got, "0.0.0.0") || strings.Contains(got, "[::]") {
			t.Errorf("advertised(%q) = %q, want the host name", addr, got)
		}
	}
	if got := advertised("10.8.0.20:8082"); got != "10.8.0.20:8082" {
		t.Errorf("advertised(10.8.0.20:8082) = %q, want it as is", got)
	}
}

// The clip server over HTTPS (run by the set's Run) serves the clip at its
// fetch URL to a client that trusts its certificate; it refuses to start
// without its key.
func TestClipServerTLS(t *testing.T) {
	pki, err := brokertest.NewPKI(t.TempDir(), "post")
	if err != nil {
		t.Fatal(err)
	}
	cert, key, err := pki.Issue("kiosk-clips", true) // valid for 127.0.0.1
	if err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", brokertest.FreePort(t))
	r := newCamRig(t, map[string]string{"door": "online"}, func(c *config.Config) {
		c.Clips.FetchListen, c.Clips.FetchAddress = addr, addr
		c.Clips.FetchTLSCertFile, c.Clips.FetchTLSKeyFile = cert, key
	})
	_, clip := r.readyClip()
	if want := "https://" + addr + "/api/clips/" + clip.ID + "?token="; !strings.HasPrefix(clip.Fetch, want) {
		t.Fatalf("fetch %q, want %s...", clip.Fetch, want)
	}
	tc, err := brokertest.ClientTLS(pki.CAFile, "", "")
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: tc}, Timeout: 5 * time.Second}
	var resp *http.Response
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if resp, err = client.Get(clip.Fetch); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("GET over TLS: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if sum := sha256.Sum256(body); resp.StatusCode != http.StatusOK || hex.EncodeToString(sum[:]) != clip.SHA256 {
		t.Errorf("GET over TLS: %s, sha256 %x; want 200, %s", resp.Status, sum, clip.SHA256)
	}

	noKey := r.cfg.Clips
	noKey.FetchTLSKeyFile = filepath.Join(t.TempDir(), "missing.key")
	err = (&Set{clips: noKey, log: r.cs.log}).serveClips(t.Context(), func() {})
	if err == nil || !strings.Contains(err.Error(), "clips.fetch_tls_key_file") {
		t.Errorf("serveClips without its key: %v, want an error naming clips.fetch_tls_key_file", err)
	}
}
