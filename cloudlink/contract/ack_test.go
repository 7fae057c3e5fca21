package contract

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
)

func testAck() Ack {
	return Ack{Kiosk: "post-1", BootEpoch: 7, IDs: []string{"ev-1", "ev-2"}}
}

func ackCode(err error) string {
	var ae *AckError
	if errors.As(err, &ae) {
		return ae.Code
	}
	return ""
}

func TestSignAckWireFormat(t *testing.T) {
	pub, priv := testKeys(t)
	msg, err := SignAck(priv, testAck())
	if err != nil {
		t.Fatal(err)
	}
	var env SignedAck
	if err := json.Unmarshal(msg, &env); err != nil || env.V != 1 {
		t.Fatalf("envelope %s: %v", msg, err)
	}
	payload, _ := base64.StdEncoding.DecodeString(env.Payload)
	sig, _ := base64.StdEncoding.DecodeString(env.Sig)
	if !ed25519.Verify(pub, payload, sig) {
		t.Error("sig does not verify over the payload bytes")
	}
	var raw map[string]any
	if err := json.Unmarshal(payload, &raw); err != nil {
		t.Fatal(err)
	}
	if raw["type"] != "ack" || raw["kiosk"] != "post-1" || raw["boot_epoch"] != float64(7) || raw["v"] != float64(1) {
		t.Errorf("payload %s: want v 1, type ack, kiosk post-1, boot_epoch 7", payload)
	}
}

func TestOpenAck(t *testing.T) {
	pub, priv := testKeys(t)
	otherPub, otherPriv := testKeys(t)
	signed := func(key ed25519.PrivateKey, edit func(*Ack)) []byte {
		a := testAck()
		if edit != nil {
			edit(&a)
		}
		b, err := SignAck(key, a)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	bare, _ := json.Marshal(Ack{V: 1, IDs: []string{"ev-1"}})
	cmd, _ := SignCommand(priv, testCommand())
	tests := []struct {
		name string
		msg  []byte
		keys []ed25519.PublicKey
		want string // "" for accepted
	}{
		{"signed", signed(priv, nil), []ed25519.PublicKey{pub}, ""},
		{"second key while rotating", signed(priv, nil), []ed25519.PublicKey{otherPub, pub}, ""},
		{"unsigned", bare, []ed25519.PublicKey{pub}, AckUnsigned},
		{"another key", signed(otherPriv, nil), []ed25519.PublicKey{pub}, AckBadSignature},
		{"no keys", signed(priv, nil), nil, AckBadSignature},
		{"another kiosk", signed(priv, func(a *Ack) { a.Kiosk = "post-2" }), []ed25519.PublicKey{pub}, AckWrongKiosk},
		{"replayed into a later boot", signed(priv, func(a *Ack) { a.BootEpoch = 6 }), []ed25519.PublicKey{pub}, AckWrongBoot},
		{"a boot not begun", signed(priv, func(a *Ack) { a.BootEpoch = 8 }), []ed25519.PublicKey{pub}, AckWrongBoot},
		{"a signed command", cmd, []ed25519.PublicKey{pub}, AckMalformed},
		{"not json", []byte("not json"), []ed25519.PublicKey{pub}, AckMalformed},
		{"too large", []byte(`{"v":1,"ids":["` + strings.Repeat("x", MaxAckMessageBytes) + `"]}`), []ed25519.PublicKey{pub}, AckMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := OpenAck(tt.msg, tt.keys, "post-1", 7)
			if got := ackCode(err); got != tt.want || (tt.want == "" && err != nil) {
				t.Fatalf("OpenAck: %v (code %q), want code %q", err, got, tt.want)
			}
			if tt.want == "" && (len(a.IDs) != 2 || a.IDs[0] != "ev-1") {
				t.Errorf("ids = %v, want [ev-1 ev-2]", a.IDs)
			}
		})
	}
}

// TestOpenAckTampered: a payload changed after signing is refused, even
// when the change is only in the address.
func TestOpenAckTampered(t *testing.T) {
	pub, priv := testKeys(t)
	msg, _ := SignAck(priv, testAck())
	var env SignedAck
	json.Unmarshal(msg, &env)
	payload, _ := base64.StdEncoding.DecodeString(env.Payload)
	env.Payload = base64.StdEncoding.EncodeToString([]byte(strings.Replace(string(payload), `"boot_epoch":7`, `"boot_epoch":8`, 1)))
	msg, _ = json.Marshal(env)
	if _, err := OpenAck(msg, []ed25519.PublicKey{pub}, "post-1", 8); ackCode(err) != AckBadSignature {
		t.Errorf("tampered boot: %v, want %s", err, AckBadSignature)
	}
}

// TestAckAndCommandDomains: one key signing both acks and commands, a
// signed ack is never taken for a command, nor a command for an ack.
func TestAckAndCommandDomains(t *testing.T) {
	pub, priv := testKeys(t)
	keys := []ed25519.PublicKey{pub}
	// A payload that is an ack and would otherwise pass for a command.
	a := testAck()
	a.V, a.Type = SchemaVersion, AckType
	hybrid, _ := json.Marshal(struct {
		Ack
		ID      string `json:"id"`
		Name    string `json:"name"`
		Counter uint64 `json:"counter"`
	}{a, "c-1", CmdClose, 99})
	env, _ := json.Marshal(SignedCommand{V: 1, Payload: base64.StdEncoding.EncodeToString(hybrid),
		Sig: base64.StdEncoding.EncodeToString(ed25519.Sign(priv, hybrid))})
	if _, err := OpenCommand(env, keys); codeOf(err) != ErrMalformed {
		t.Errorf("signed ack payload as a command: %v, want %s", err, ErrMalformed)
	}
	cmd, _ := SignCommand(priv, testCommand())
	if _, err := OpenAck(cmd, keys, "post-1", 7); ackCode(err) != AckMalformed {
		t.Errorf("signed command as an ack: %v, want %s", err, AckMalformed)
	}
}

func TestSignAckRefusesBadAcks(t *testing.T) {
	_, priv := testKeys(t)
	for name, a := range map[string]Ack{
		"no ids":     {Kiosk: "post-1", BootEpoch: 1},
		"no kiosk":   {BootEpoch: 1, IDs: []string{"a"}},
		"no boot":    {Kiosk: "post-1", IDs: []string{"a"}},
		"too many":   {Kiosk: "post-1", BootEpoch: 1, IDs: make([]string, MaxAckIDs+1)},
		"empty id":   {Kiosk: "post-1", BootEpoch: 1, IDs: []string{""}},
		"long id":    {Kiosk: "post-1", BootEpoch: 1, IDs: []string{strings.Repeat("x", MaxAckIDBytes+1)}},
		"short key?": {},
	} {
		if _, err := SignAck(priv, a); err == nil {
			t.Errorf("%s: SignAck accepted %+v", name, a)
		}
	}
	if _, err := SignAck(priv[:10], testAck()); err == nil {
		t.Error("SignAck accepted a short key")
	}
	// The largest ack fits the message bound.
	a := Ack{Kiosk: strings.Repeat("k", 64), BootEpoch: 1 << 62, IDs: make([]string, MaxAckIDs)}
	for i := range a.IDs {
		a.IDs[i] = strings.Repeat("i", MaxAckIDBytes)
	}
	msg, err := SignAck(priv, a)
	if err != nil || len(msg) > MaxAckMessageBytes {
		t.Errorf("largest ack: %d bytes (%v), want at most %d", len(msg), err, MaxAckMessageBytes)
	}
}

func TestDecodeUnsignedAck(t *testing.T) {
	_, priv := testKeys(t)
	bare, _ := json.Marshal(Ack{V: 1, IDs: []string{"ev-1"}})
	if a, err := DecodeUnsignedAck(bare, "post-1", 7); err != nil || a.IDs[0] != "ev-1" {
		t.Errorf("bare ack: %+v, %v", a, err)
	}
	signed, _ := SignAck(priv, testAck())
	if _, err := DecodeUnsignedAck(signed, "post-1", 7); err != nil {
		t.Errorf("signed ack, unverified: %v", err)
	}
	if _, err := DecodeUnsignedAck(signed, "post-1", 8); ackCode(err) != AckWrongBoot {
		t.Errorf("signed ack of another boot: %v, want %s", err, AckWrongBoot)
	}
	if _, err := DecodeUnsignedAck([]byte(`{"v":1,"ids":[]}`), "post-1", 7); ackCode(err) != AckMalformed {
		t.Errorf("empty bare ack: %v, want %s", err, AckMalformed)
	}
}

func TestBootEpochs(t *testing.T) {
	var b BootEpochs
	if got := b.Of("post-1"); got != 0 {
		t.Errorf("unseen kiosk: %d, want 0", got)
	}
	b.SeeRetained([]byte(`{"v":1,"kiosk":"post-1","state":"online","boot_epoch":9}`))
	b.SeeRetained([]byte(`{"v":1,"kiosk":"post-1","boot_epoch":0}`)) // no epoch: ignored
	b.SeeRetained([]byte(``))                                        // a cleared retained topic
	if got := b.Of("post-1"); got != 9 {
		t.Errorf("after status: %d, want 9", got)
	}
	b.See("post-1", 1) // reinstalled: the latest wins, not the highest
	if got := b.Of("post-1"); got != 1 {
		t.Errorf("after a reinstall: %d, want 1", got)
	}
}

// BenchmarkOpenAck is the kiosk's cost of checking one ack of n ids,
// signed, against reading a bare unsigned one (allow_unsigned):
//
//	go test -run XXX -bench OpenAck ./cloudlink/contract
func BenchmarkOpenAck(b *testing.B) {
	pub, priv := testKeys(&testing.T{})
	for _, n := range []int{1, 256, MaxAckIDs} {
		a := Ack{Kiosk: "post-1", BootEpoch: 7, IDs: make([]string, n)}
		for i := range a.IDs {
			a.IDs[i] = strings.Repeat("0123456789abcdef", 2)[:30] + string(rune('a'+i%26)) + string(rune('a'+i/26%26))
		}
		signed, _ := SignAck(priv, a)
		bare, _ := json.Marshal(Ack{V: 1, IDs: a.IDs})
		b.Run("signed/ids="+strconv.Itoa(n), func(b *testing.B) {
			for b.Loop() {
				if _, err := OpenAck(signed, []ed25519.PublicKey{pub}, "post-1", 7); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("unsigned/ids="+strconv.Itoa(n), func(b *testing.B) {
			for b.Loop() {
				if _, err := DecodeUnsignedAck(bare, "post-1", 7); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
