package console

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"kioskd/cloudlink/contract"
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
