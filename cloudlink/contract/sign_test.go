package contract

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"testing"
)

func testKeys(t *testing.T) (ed25519.PublicKey, ed25519.PrivateKey) {
	t.Helper()
	pubPEM, privPEM, err := GenerateKeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	pub, err := ParsePublicKeyPEM(pubPEM)
	if err != nil {
		t.Fatalf("ParsePublicKeyPEM: %v", err)
	}
	priv, err := ParsePrivateKeyPEM(privPEM)
	if err != nil {
		t.Fatalf("ParsePrivateKeyPEM: %v", err)
	}
	return pub, priv
}

func testCommand() Command {
	return Command{V: SchemaVersion, ID: "c-1", Kiosk: "post-1", Name: CmdAccept,
		Args: json.RawMessage(`{"incident":"inc-1","responder":"王警官"}`), Counter: 42}
}

func codeOf(err error) string {
	var re *ReplyError
	if errors.As(err, &re) {
		return re.Code
	}
	return ""
}

func TestSignCommandWireFormat(t *testing.T) {
	pub, priv := testKeys(t)
	msg, err := SignCommand(priv, testCommand())
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]any
	if err := json.Unmarshal(msg, &raw); err != nil {
		t.Fatal(err)
	}
	if got, want := raw["v"], float64(1); got != want {
		t.Errorf("v = %v, want %v", got, want)
	}
	payload, err := base64.StdEncoding.DecodeString(raw["payload"].(string))
	if err != nil {
		t.Fatalf("payload is not std base64: %v", err)
	}
	sig, err := base64.StdEncoding.DecodeString(raw["sig"].(string))
	if err != nil {
		t.Fatalf("sig is not std base64: %v", err)
	}
	if !ed25519.Verify(pub, payload, sig) {
		t.Error("sig does not verify over the payload bytes")
	}
	var c Command
	if err := json.Unmarshal(payload, &c); err != nil || c.Counter != 42 {
		t.Errorf("payload = %s (%v), want the command with counter 42", payload, err)
	}
}

func TestOpenCommand(t *testing.T) {
	pub, priv := testKeys(t)
	otherPub, otherPriv := testKeys(t)
	signed := func(priv ed25519.PrivateKey, edit func(*Command)) []byte {
		c := testCommand()
		if edit != nil {
			edit(&c)
		}
		b, err := SignCommand(priv, c)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	good := signed(priv, nil)
	var env SignedCommand
	if err := json.Unmarshal(good, &env); err != nil {
		t.Fatal(err)
	}
	other, _ := json.Marshal(Command{V: 1, ID: "c-1", Kiosk: "post-1", Name: CmdClose, Counter: 43})
	env.Payload = base64.StdEncoding.EncodeToString(other)
	tampered, _ := json.Marshal(env)
	tests := []struct {
		name string
		msg  []byte
		keys []ed25519.PublicKey
		want string // reply code, "" for success
	}{
		{"valid", good, []ed25519.PublicKey{pub}, ""},
		{"second key of two (rotation)", good, []ed25519.PublicKey{otherPub, pub}, ""},
		{"wrong key", signed(otherPriv, nil), []ed25519.PublicKey{pub}, ErrBadSignature},
		{"no keys", good, nil, ErrBadSignature},
		{"tampered payload", []byte(tampered), []ed25519.PublicKey{pub}, ErrBadSignature},
		{"bare command", []byte(`{"v":1,"id":"c-1","kiosk":"post-1","name":"accept","counter":1}`), []ed25519.PublicKey{pub}, ErrMalformed},
		{"not JSON", []byte(`accept!`), []ed25519.PublicKey{pub}, ErrMalformed},
		{"payload not base64", []byte(`{"v":1,"payload":"!!","sig":""}`), []ed25519.PublicKey{pub}, ErrMalformed},
		{"signed, no counter", signed(priv, func(c *Command) { c.Counter = 0 }), []ed25519.PublicKey{pub}, ErrMalformed},
		{"signed, no id", signed(priv, func(c *Command) { c.ID = "" }), []ed25519.PublicKey{pub}, ErrMalformed},
		{"forged, no counter", signed(otherPriv, func(c *Command) { c.Counter = 0 }), []ed25519.PublicKey{pub}, ErrBadSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := OpenCommand(tt.msg, tt.keys)
			if got := codeOf(err); got != tt.want {
				t.Fatalf("code = %q (%v), want %q", got, err, tt.want)
			}
			if err == nil && c.Counter != 42 {
				t.Errorf("counter = %d, want 42", c.Counter)
			}
		})
	}
}

func TestDecodeUnsignedCommand(t *testing.T) {
	_, priv := testKeys(t)
	env, err := SignCommand(priv, testCommand())
	if err != nil {
		t.Fatal(err)
	}
	bare, _ := json.Marshal(testCommand())
	for name, msg := range map[string][]byte{"envelope": env, "bare": bare} {
		c, err := DecodeUnsignedCommand(msg)
		if err != nil || c.ID != "c-1" {
			t.Errorf("%s: got %+v, %v; want command c-1", name, c, err)
		}
	}
}

func TestParseKeyPEMRejects(t *testing.T) {
	pubPEM, privPEM, err := GenerateKeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParsePublicKeyPEM(privPEM); err == nil {
		t.Error("ParsePublicKeyPEM accepted a private key")
	}
	if _, err := ParsePrivateKeyPEM(pubPEM); err == nil {
		t.Error("ParsePrivateKeyPEM accepted a public key")
	}
	if _, err := ParsePublicKeyPEM([]byte("junk")); err == nil {
		t.Error("ParsePublicKeyPEM accepted junk")
	}
}

// BenchmarkOpenCommand: verifying and decoding one signed command, with the
// right key second of two (a rotation).
func BenchmarkOpenCommand(b *testing.B) {
	pub, priv, _ := ed25519.GenerateKey(nil)
	old, _, _ := ed25519.GenerateKey(nil)
	msg, err := SignCommand(priv, testCommand())
	if err != nil {
		b.Fatal(err)
	}
	keys := []ed25519.PublicKey{old, pub}
	for b.Loop() {
		if _, err := OpenCommand(msg, keys); err != nil {
			b.Fatal(err)
		}
	}
}
