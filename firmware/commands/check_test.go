package cloudlink

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"testing"

	"kioskd/cloudlink/contract"
	"kioskd/hack/brokertest"
)

// testKey signs the tests' commands; testConfig trusts it. otherKey is a
// key the kiosk does not trust.
var (
	testKey  = ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	otherKey = ed25519.NewKeyFromSeed([]byte("another platform, never trusted."))
)

// sealRaw wraps exactly these command bytes in a signed envelope.
func sealRaw(key ed25519.PrivateKey, command []byte) []byte {
	b, _ := json.Marshal(contract.SignedCommand{
		V:       contract.SchemaVersion,
		Payload: base64.StdEncoding.EncodeToString(command),
		Sig:     base64.StdEncoding.EncodeToString(ed25519.Sign(key, command)),
	})
	return b
}

func seal(command string) string { return string(sealRaw(testKey, []byte(command))) }

func TestCheckCommand(t *testing.T) {
	l := New(Config{KioskID: testKiosk, CommandKeys: []ed25519.PublicKey{testKey.Public().(ed25519.PublicKey)}},
		newOutbox(), newKiosk(), nil)
	tests := []struct {
		name     string
		payload  string
		wantCode string // "" for accepted
		wantID   string
	}{
		{"accept", seal(`{"v":1,"id":"c1","kiosk":"kiosk-test-1","name":"accept","args":{"incident":"i"},"counter":1}`), "", "c1"},
		{"message", seal(`{"v":1,"id":"c2","kiosk":"kiosk-test-1","name":"message","counter":2}`), "", "c2"},
		{"escalate", seal(`{"v":1,"id":"c3","kiosk":"kiosk-test-1","name":"escalate","counter":3}`), "", "c3"},
		{"close", seal(`{"v":1,"id":"c4","kiosk":"kiosk-test-1","name":"close","counter":4}`), "", "c4"},
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
			cmd, rerr := l.checkCommand([]byte(tt.payload))
			gotCode := ""
			if rerr != nil {
				gotCode = rerr.Code
			}
			if gotCode != tt.wantCode {
				t.Errorf("code: got %q (%v), want %q", gotCode, rerr, tt.wantCode)
			}
			if cmd.ID != tt.wantID {
				t.Errorf("id: got %q, want %q", cmd.ID, tt.wantID)
			}
		})
	}
}

// Without keys every command is refused, however it is signed; with
// AllowUnsigned a bare command is taken.
func TestCommandKeysRequired(t *testing.T) {
	bare := `{"v":1,"id":"c1","kiosk":"kiosk-test-1","name":"accept","counter":1}`
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
			l := New(Config{KioskID: testKiosk, AllowUnsigned: tt.allowUnsigned}, newOutbox(), newKiosk(), nil)
			_, rerr := l.checkCommand([]byte(tt.payload))
			gotCode := ""
			if rerr != nil {
				gotCode = rerr.Code
			}
			if gotCode != tt.wantCode {
				t.Errorf("code: got %q (%v), want %q", gotCode, rerr, tt.wantCode)
			}
		})
	}
}

// The kiosk hears of every refusal for signature, envelope or address, not
// of an unknown name from a trusted platform.
func TestRefusalsReachKiosk(t *testing.T) {
	kiosk := newKiosk()
	l := New(Config{KioskID: testKiosk, CommandKeys: []ed25519.PublicKey{testKey.Public().(ed25519.PublicKey)}},
		newOutbox(), kiosk, nil)
	forged := sealRaw(otherKey, []byte(`{"v":1,"id":"f1","kiosk":"kiosk-test-1","name":"close","counter":9}`))
	for _, p := range []string{string(forged), `junk`,
		seal(`{"v":1,"id":"w1","kiosk":"kiosk-other","name":"accept","counter":9}`),
		seal(`{"v":1,"id":"u1","kiosk":"kiosk-test-1","name":"reboot","counter":9}`)} {
		l.answer(context.Background(), []byte(p))
	}
	got := kiosk.refusals()
	want := []string{contract.ErrBadSignature + " f1", contract.ErrMalformed + " ", contract.ErrWrongKiosk + " w1"}
	if len(got) != len(want) {
		t.Fatalf("refusals: got %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("refusal %d: got %q, want %q", i, got[i], want[i])
		}
	}
	if n := len(kiosk.commands()); n != 0 {
		t.Errorf("Kiosk.Command calls: got %d, want 0", n)
	}
}

func TestCommandsOverMQTT(t *testing.T) {
	broker := brokertest.Start(t)
	cfg := testConfig(t, broker.URL())
	platform := brokertest.Connect(t, broker.URL())
	replies := platform.Subscribe(cfg.Topics.Replies())
	kiosk := newKiosk()
	link, _ := runLink(t, cfg, newOutbox(), kiosk)
	waitFor(t, "connected", func() bool { return link.Status().Connected })

	tests := []struct {
		name      string
		payload   string
		kioskSays *contract.ReplyError
		wantID    string
		wantCode  string // "" for OK
		wantCalls int    // Kiosk.Command calls so far
	}{
		{"valid", seal(`{"v":1,"id":"c1","kiosk":"kiosk-test-1","name":"accept","args":{"incident":"i1","responder":"pc-7"},"counter":1}`),
			nil, "c1", "", 1},
		{"kiosk refuses", seal(`{"v":1,"id":"c2","kiosk":"kiosk-test-1","name":"close","args":{"incident":"i9"},"counter":2}`),
			&contract.ReplyError{Code: contract.ErrNotFound, Message: "no incident i9"}, "c2", contract.ErrNotFound, 2},
		{"malformed", `{"v":1,"id":`, nil, "", contract.ErrMalformed, 2},
		{"forged", string(sealRaw(otherKey, []byte(`{"v":1,"id":"c5","kiosk":"kiosk-test-1","name":"accept","counter":5}`))),
			nil, "c5", contract.ErrBadSignature, 2},
		{"wrong kiosk", seal(`{"v":1,"id":"c3","kiosk":"kiosk-other","name":"accept","counter":3}`), nil, "c3", contract.ErrWrongKiosk, 2},
		{"unknown name", seal(`{"v":1,"id":"c4","kiosk":"kiosk-test-1","name":"selfdestruct","counter":4}`), nil, "c4", contract.ErrUnknownCommand, 2},
	}
	for _, tt := range tests {
		kiosk.mu.Lock()
		kiosk.reply = tt.kioskSays
		kiosk.mu.Unlock()
		platform.Publish(cfg.Topics.Commands(), []byte(tt.payload), false)

		m := brokertest.Next(t, replies, waitLong)
		var got contract.Reply
		if err := json.Unmarshal(m.Payload, &got); err != nil {
			t.Fatalf("%s: reply %q: %v", tt.name, m.Payload, err)
		}
		gotCode := ""
		if got.Error != nil {
			gotCode = got.Error.Code
		}
		if got.V != contract.SchemaVersion || got.Kiosk != testKiosk || got.Command != tt.wantID ||
			got.OK != (tt.wantCode == "") || gotCode != tt.wantCode {
			t.Errorf("%s: got reply %s, want command %q code %q", tt.name, m.Payload, tt.wantID, tt.wantCode)
		}
		if calls := len(kiosk.commands()); calls != tt.wantCalls {
			t.Errorf("%s: Kiosk.Command calls: got %d, want %d", tt.name, calls, tt.wantCalls)
		}
	}
	if cmds := kiosk.commands(); len(cmds) > 0 && string(cmds[0].Args) != `{"incident":"i1","responder":"pc-7"}` {
		t.Errorf("args handed to kiosk: got %s, want them as sent", cmds[0].Args)
	}
}
