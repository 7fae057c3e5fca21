package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"

	"kioskd/kiosk/screen/guardauth"
)

func TestHashPassword(t *testing.T) {
	tests := []struct {
		name, stdin string
		ok          bool
	}{
		{"a line", "a long enough password\n", true},
		{"no newline", "a long enough password", true},
		{"too short", "short\n", false},
		{"empty", "", false},
	}
	for _, tt := range tests {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		w.WriteString(tt.stdin)
		w.Close()
		var out, msg bytes.Buffer
		err = hashPassword(r, &out, &msg)
		r.Close()
		if (err == nil) != tt.ok {
			t.Errorf("%s: err = %v, want ok %v", tt.name, err, tt.ok)
			continue
		}
		if !tt.ok {
			if out.Len() != 0 {
				t.Errorf("%s: printed %q after an error", tt.name, out.String())
			}
			continue
		}
		hash := strings.TrimSpace(out.String())
		auth, err := guardauth.New(guardauth.Options{Users: []guardauth.User{{Name: "g", Hash: hash}}})
		if err != nil {
			t.Fatalf("%s: the printed hash %q does not load: %v", tt.name, hash, err)
		}
		if _, _, err := auth.Login(context.Background(), "g", strings.TrimRight(tt.stdin, "\n"), "127.0.0.1"); err != nil {
			t.Errorf("%s: the password does not log in with the printed hash: %v", tt.name, err)
		}
	}
}
