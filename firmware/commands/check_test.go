package commands

import (
	"crypto/ed25519"
	"slices"
	"testing"

	"kioskd/cloudlink/contract"
)

// TestCheckCommand: the envelope, the signature, the address and the name,
// each command on a fresh counter; only the commands that pass reach a
// handler.
func TestCheckCommand(t *testing.T) {
	r := newRig(t, nil)
	tests := []struct {
		name     string
		payload  string
		wantCode string // "" for accepted
		wantID   string
	}{
		{"accept", seal(`{"v":1,"id":"c1","kiosk":"kiosk-test-1","name":"accept","args":{"incident":"i","responder":"r"},"counter":1}`), "", "c1"},
		{"message", seal(`{"v":1,"id":"c2","kiosk":"kiosk-test-1","name":"message","args":{"incident":"i","from":"f","text":"t"},"counter":2}`), "", "c2"},
		{"escalate", seal(`{"v":1,"id":"c3","kiosk":"kiosk-test-1","name":"escalate","args":{"incident":"i","by":"b","reason":"r"},"counter":3}`), "", "c3"},
		{"close", seal(`{"v":1,"id":"c4","kiosk":"kiosk-test-1","name":"close","args":{"incident":"i","by":"b","outcome":"o"},"counter":4}`), "", "c4"},
		{"not json", `{"v":1,`, contract.ErrMalformed, ""},
		{"json null", `null`, contract.ErrMalformed, ""},
		{"bare command", `{"v":1,"id":"c1","kiosk":"kiosk-test-1","name":"accept","counter":1}`, contract.ErrMalformed, ""},
		{"signed not json", seal(`{"v":1,`), contract.ErrMalformed, ""},
		{"no version", seal(`{"id":"c5","kiosk":"kiosk-test-1","name":"accept","counter":5}`), contract.ErrMalformed, "c5"},
		{"no id", seal(`{"v":1,"kiosk":"kiosk-test-1","name":"accept","counter":5}`), contract.ErrMalformed, ""},
		{"no counter", seal(`{"v":1,"id":"c5","kiosk":"kiosk-test-1","name":"accept"}`), contract.ErrMalformed, "c5"},
		{"untrusted key", string(sealRaw(otherKey, []byte(`{"v":1,"id":"c8","kiosk":"kiosk-test-1","name":"accept","counter":8}`))),
			contract.ErrBadSignature, "c8"},
		{"wrong kiosk", seal(`{"v":1,"id":"c6","kiosk":"kiosk-other","name":"accept","counter":6}`), contract.ErrWrongKiosk, "c6"},
		{"unknown name", seal(`{"v":1,"id":"c7","kiosk":"kiosk-test-1","name":"reboot","counter":7}`), contract.ErrUnknownCommand, "c7"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(r.commands())
			reply, gotCode := r.answer(tt.payload)
			if gotCode != tt.wantCode {
				t.Errorf("code: got %q (%v), want %q", gotCode, reply.Error, tt.wantCode)
			}
			if reply.Command != tt.wantID {
				t.Errorf("id: got %q, want %q", reply.Command, tt.wantID)
			}
			want := 0
			if tt.wantCode == "" {
				want = 1
			}
			if called := len(r.commands()) - before; called != want {
				t.Errorf("handler calls: got %d, want %d", called, want)
			}
		})
	}
}

// Without keys every command is refused, however it is signed; with
// AllowUnsigned a bare command is taken.
func TestCommandKeysRequired(t *testing.T) {
	bare := `{"v":1,"id":"c1","kiosk":"kiosk-test-1","name":"accept","args":{"incident":"i","responder":"r"},"counter":1}`
	tests := []struct {
		name          string
		allowUnsigned bool
		payload       string
		wantCode      string
	}{
		{"no keys, signed", false, seal(bare), contract.ErrBadSignature},
		{"no keys, bare", false, bare, contract.ErrMalformed},
		{"allow unsigned, bare", true, bare, ""},
		{"allow unsigned, signed by anyone", true, string(sealRaw(otherKey, []byte(bare))), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, func(c *Config) { c.Keys, c.AllowUnsigned = nil, tt.allowUnsigned })
			if reply, gotCode := r.answer(tt.payload); gotCode != tt.wantCode {
				t.Errorf("code: got %q (%v), want %q", gotCode, reply.Error, tt.wantCode)
			}
		})
	}
}

// The journal hears of every refusal for signature, envelope or address,
// not of an unknown name from a trusted platform; no handler hears of any.
func TestRefusalsJournaled(t *testing.T) {
	r := newRig(t, nil)
	forged := sealRaw(otherKey, []byte(`{"v":1,"id":"f1","kiosk":"kiosk-test-1","name":"close","counter":9}`))
	for _, p := range []string{string(forged), `junk`,
		seal(`{"v":1,"id":"w1","kiosk":"kiosk-other","name":"accept","counter":9}`),
		seal(`{"v":1,"id":"u1","kiosk":"kiosk-test-1","name":"reboot","counter":9}`)} {
		r.answer(p)
	}
	want := []string{contract.ErrBadSignature + " f1", contract.ErrMalformed + " ", contract.ErrWrongKiosk + " w1"}
	if got := r.refusals(t); !slices.Equal(got, want) {
		t.Errorf("refusals: got %q, want %q", got, want)
	}
	if n := len(r.commands()); n != 0 {
		t.Errorf("handler calls: got %d, want 0", n)
	}
}

// TestReplies: each payload gets a reply with the envelope set, carrying
// the command's id (its claimed one when refused), and the handler's error
// or result; the args reach the handler as they were sent.
func TestReplies(t *testing.T) {
	r := newRig(t, nil)
	tests := []struct {
		name      string
		payload   string
		handler   *contract.ReplyError
		wantID    string
		wantCode  string // "" for OK
		wantCalls int    // handler calls so far
	}{
		{"valid", seal(`{"v":1,"id":"c1","kiosk":"kiosk-test-1","name":"accept","args":{"incident":"i1","responder":"pc-7"},"counter":1}`),
			nil, "c1", "", 1},
		{"handler refuses", seal(`{"v":1,"id":"c2","kiosk":"kiosk-test-1","name":"close","args":{"incident":"i9","by":"b","outcome":"o"},"counter":2}`),
			&contract.ReplyError{Code: contract.ErrNotFound, Message: "no incident i9"}, "c2", contract.ErrNotFound, 2},
		{"handler without a code", seal(`{"v":1,"id":"c6","kiosk":"kiosk-test-1","name":"close","args":{"incident":"i9","by":"b","outcome":"o"},"counter":6}`),
			&contract.ReplyError{Message: "disk on fire"}, "c6", contract.ErrInternal, 3},
		{"malformed", `{"v":1,"id":`, nil, "", contract.ErrMalformed, 3},
		{"forged", string(sealRaw(otherKey, []byte(`{"v":1,"id":"c5","kiosk":"kiosk-test-1","name":"accept","counter":5}`))),
			nil, "c5", contract.ErrBadSignature, 3},
		{"wrong kiosk", seal(`{"v":1,"id":"c3","kiosk":"kiosk-other","name":"accept","counter":3}`), nil, "c3", contract.ErrWrongKiosk, 3},
		{"unknown name", seal(`{"v":1,"id":"c4","kiosk":"kiosk-test-1","name":"selfdestruct","counter":4}`), nil, "c4", contract.ErrUnknownCommand, 3},
	}
	for _, tt := range tests {
		r.set(tt.handler, nil)
		got, gotCode := r.answer(tt.payload)
		if got.V != contract.SchemaVersion || got.Kiosk != testKiosk || got.Command != tt.wantID ||
			got.OK != (tt.wantCode == "") || gotCode != tt.wantCode {
			t.Errorf("%s: got reply %+v, want command %q code %q", tt.name, got, tt.wantID, tt.wantCode)
		}
		if calls := len(r.commands()); calls != tt.wantCalls {
			t.Errorf("%s: handler calls: got %d, want %d", tt.name, calls, tt.wantCalls)
		}
	}
	if cmds := r.commands(); len(cmds) > 0 && string(cmds[0].Args) != `{"incident":"i1","responder":"pc-7"}` {
		t.Errorf("args handed to the handler: got %s, want them as sent", cmds[0].Args)
	}
}

// New refuses a table that routes a command to a handler of another
// command's args, or a name the contract does not know.
func TestTableChecked(t *testing.T) {
	r := newRig(t, nil)
	for name, table := range map[string]Table{
		"close with accept's args":   {contract.CmdClose: record[contract.AcceptArgs](r)},
		"a name not in the contract": {"reboot": record[contract.AcceptArgs](r)},
		"a route built by hand":      {contract.CmdClose: {}},
	} {
		if _, err := New(Config{KioskID: testKiosk, Keys: []ed25519.PublicKey{testKey.Public().(ed25519.PublicKey)}, Routes: table}); err == nil {
			t.Errorf("%s: New took the table", name)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
}
