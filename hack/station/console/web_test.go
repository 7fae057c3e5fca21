package console

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"kioskd/cloudlink/contract"
	"kioskd/hack/brokertest"
)

func TestFormArgs(t *testing.T) {
	tests := []struct {
		name    string
		form    map[string]string
		want    string // args as JSON, callback_by left out
		wantErr bool
	}{
		{"accept", map[string]string{"incident": "i1", "operator": " 王警官 "}, `{"incident":"i1","responder":"王警官"}`, false},
		{"accept", map[string]string{"incident": "i1", "operator": "w", "callback_min": "0"}, "", true},
		{"message", map[string]string{"incident": "i1", "operator": "w", "text": "马上到"}, `{"incident":"i1","from":"w","text":"马上到"}`, false},
		{"escalate", map[string]string{"incident": "i1", "operator": "w", "reason": "r"}, `{"incident":"i1","by":"w","reason":"r"}`, false},
		{"close", map[string]string{"incident": "i1", "operator": "w", "outcome": "o"}, `{"incident":"i1","by":"w","outcome":"o"}`, false},
		{"upload_clip", map[string]string{"incident": "i1", "clip": "c1", "url": "http://x/u"}, `{"incident":"i1","clip":"c1","url":"http://x/u"}`, false},
		{"acknowledge_recovery", map[string]string{"operator": " 王警官 ", "note": " 已核对 "}, `{"by":"王警官","note":"已核对"}`, false},
		{"reboot", map[string]string{}, "", true},
	}
	for _, tt := range tests {
		args, err := formArgs(tt.name, func(k string) string { return tt.form[k] })
		if (err != nil) != tt.wantErr {
			t.Errorf("%s %v: got error %v, want error %v", tt.name, tt.form, err, tt.wantErr)
			continue
		}
		if err != nil {
			continue
		}
		b, _ := json.Marshal(args)
		if got := string(b); got != tt.want {
			t.Errorf("%s: got %s, want %s", tt.name, got, tt.want)
		}
	}
	args, err := formArgs("accept", func(k string) string { return map[string]string{"callback_min": "5"}[k] })
	if err != nil {
		t.Fatal(err)
	}
	if by := args.(contract.AcceptArgs).CallbackBy; time.Until(by) < 4*time.Minute || time.Until(by) > 5*time.Minute {
		t.Errorf("callback_min 5: got callback_by %v, want about 5 minutes from now", by)
	}
}

func TestUploadsKeepTheClip(t *testing.T) {
	dir := t.TempDir()
	mux := http.NewServeMux()
	uploads{dir: dir}.register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	req, _ := http.NewRequest(http.MethodPut, srv.URL+"/uploads/inc-1/clip-1.mp4", strings.NewReader("mp4 bytes"))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("PUT: got %s, want 201", res.Status)
	}
	got, err := os.ReadFile(filepath.Join(dir, "inc-1", "clip-1.mp4"))
	if err != nil || string(got) != "mp4 bytes" {
		t.Errorf("stored clip: got %q (%v), want %q", got, err, "mp4 bytes")
	}
	res, err = http.Post(srv.URL+"/uploads/inc-1/..", "video/mp4", strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode == http.StatusCreated {
		t.Error("an upload named .. was accepted")
	}
}

// TestCommandsRefusedBeforeSigning: POST /api/commands (and the page's form)
// answer 400 to args the kiosk would refuse as bad_args, before anything is
// signed, recorded or published.
func TestCommandsRefusedBeforeSigning(t *testing.T) {
	broker := brokertest.Start(t)
	c, _ := startConsole(t, broker.URL(), "station", time.Minute)
	kiosk := brokertest.Connect(t, broker.URL())
	cmds := kiosk.Subscribe("gongzhi/v1/k1/cmd")
	web := httptest.NewServer(c.Handler())
	defer web.Close()

	big := strings.Repeat("长", 300<<10/3)
	bodies := []struct{ what, body, says string }{
		{"a 300 KB responder", `{"kiosk":"k1","name":"accept","args":{"incident":"inc-1","responder":"` + big + `"}}`, "64 KB"},
		{"a responder one character over", `{"kiosk":"k1","name":"accept","args":{"incident":"inc-1","responder":"` + strings.Repeat("龘", 65) + `"}}`, "args.responder"},
		{"a 5,000-character outcome", `{"kiosk":"k1","name":"close","args":{"incident":"inc-1","by":"w","outcome":"` + strings.Repeat("o", 5000) + `"}}`, "args.outcome"},
		{"a message without from", `{"kiosk":"k1","name":"message","args":{"incident":"inc-1","text":"马上到"}}`, "args.from"},
		{"a control character", `{"kiosk":"k1","name":"escalate","args":{"incident":"inc-1","by":"w\u0007","reason":"r"}}`, "control"},
	}
	for _, b := range bodies {
		res, err := http.Post(web.URL+"/api/commands", "application/json", strings.NewReader(b.body))
		if err != nil {
			t.Fatal(err)
		}
		var got map[string]string
		json.NewDecoder(res.Body).Decode(&got)
		res.Body.Close()
		if res.StatusCode != http.StatusBadRequest || !strings.Contains(got["error"], b.says) {
			t.Errorf("%s: HTTP %d %.200q, want 400 saying %q", b.what, res.StatusCode, got["error"], b.says)
		}
	}
	form := url.Values{"kiosk": {"k1"}, "name": {"accept"}, "incident": {"inc-1"}, "operator": {strings.Repeat("W", 65)}}
	res, err := http.PostForm(web.URL+"/commands", form)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusBadRequest {
		t.Errorf("the page's form with a 65-character operator: HTTP %d, want 400", res.StatusCode)
	}
	// A valid command goes: the refusals were for their args alone.
	res, err = http.Post(web.URL+"/api/commands", "application/json", strings.NewReader(`{"kiosk":"k1","name":"accept","args":{"incident":"inc-1","responder":"王警官"}}`))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusAccepted {
		t.Fatalf("valid accept: HTTP %d", res.StatusCode)
	}
	m := brokertest.Next(t, cmds, waitLong)
	if len(m.Payload) > 4<<10 {
		t.Errorf("the first command published is %d bytes: a refused one went out", len(m.Payload))
	}
	if sent, _ := c.store.Commands(); len(sent) != 1 {
		t.Errorf("%d commands recorded, want only the valid one", len(sent))
	}
}
