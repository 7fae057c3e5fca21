package contract

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
)

// SignedCommand is what travels on the cmd topic: the Command's JSON bytes,
// and an Ed25519 signature over exactly those bytes, both base64 (standard
// alphabet, padded). The kiosk verifies the bytes it received before it
// decodes them, so no re-encoding on either side can break a signature.
type SignedCommand struct {
	V       int    `json:"v"`
	Payload string `json:"payload"` // base64 of the Command's JSON
	Sig     string `json:"sig"`     // base64 of the Ed25519 signature over the decoded payload
}

// Error makes a ReplyError an error, so that the code travels with it.
func (e *ReplyError) Error() string { return e.Code + ": " + e.Message }

func refuse(code, format string, args ...any) *ReplyError {
	return &ReplyError{Code: code, Message: fmt.Sprintf(format, args...)}
}

// SignCommand encodes c and signs it with key, returning the message to
// publish on the kiosk's cmd topic.
func SignCommand(key ed25519.PrivateKey, c Command) ([]byte, error) {
	if len(key) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("sign command: private key of %d bytes, want %d", len(key), ed25519.PrivateKeySize)
	}
	payload, err := json.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("sign command: %w", err)
	}
	return json.Marshal(SignedCommand{
		V:       SchemaVersion,
		Payload: base64.StdEncoding.EncodeToString(payload),
		Sig:     base64.StdEncoding.EncodeToString(ed25519.Sign(key, payload)),
	})
}

// OpenCommand checks a message from the cmd topic: a signed envelope whose
// signature verifies under one of keys, carrying a well-formed Command (v, id
// and a counter above zero). It does not check the address, the counter
// against earlier ones or the expiry: those need the kiosk's state. Errors
// are *ReplyError with ErrMalformed or ErrBadSignature. On a bad signature
// the returned Command is the unverified one, for the record only; never act
// on it.
func OpenCommand(msg []byte, keys []ed25519.PublicKey) (Command, error) {
	payload, sig, err := decodeEnvelope(msg)
	if err != nil {
		return Command{}, refuse(ErrMalformed, "not a signed command envelope: %v", err)
	}
	cmd, err := decodeCommand(payload)
	if !verifiedByAny(payload, sig, keys) {
		return cmd, refuse(ErrBadSignature, "signature does not verify under any of the %d configured keys", len(keys))
	}
	return cmd, err
}

// DecodeUnsignedCommand reads a bare Command, or the payload of an envelope
// without checking its signature. Only for kiosks configured with
// allow_unsigned (development): anyone who can publish can command them.
func DecodeUnsignedCommand(msg []byte) (Command, error) {
	if payload, _, err := decodeEnvelope(msg); err == nil {
		msg = payload
	}
	return decodeCommand(msg)
}

// decodeEnvelope returns the payload and signature bytes of a SignedCommand.
func decodeEnvelope(msg []byte) (payload, sig []byte, err error) {
	var env SignedCommand
	if err := json.Unmarshal(msg, &env); err != nil {
		return nil, nil, err
	}
	if env.V != SchemaVersion || env.Payload == "" {
		return nil, nil, fmt.Errorf("v %d, payload %d bytes; want v %d and a payload", env.V, len(env.Payload), SchemaVersion)
	}
	if payload, err = base64.StdEncoding.DecodeString(env.Payload); err != nil {
		return nil, nil, fmt.Errorf("payload: %w", err)
	}
	if sig, err = base64.StdEncoding.DecodeString(env.Sig); err != nil {
		return nil, nil, fmt.Errorf("sig: %w", err)
	}
	return payload, sig, nil
}

func verifiedByAny(payload, sig []byte, keys []ed25519.PublicKey) bool {
	if len(sig) != ed25519.SignatureSize {
		return false
	}
	for _, k := range keys {
		if len(k) == ed25519.PublicKeySize && ed25519.Verify(k, payload, sig) {
			return true
		}
	}
	return false
}

// decodeCommand decodes a Command and checks its own fields.
func decodeCommand(b []byte) (Command, error) {
	var c Command
	if err := json.Unmarshal(b, &c); err != nil {
		return Command{}, refuse(ErrMalformed, "not a JSON command: %v", err)
	}
	if err := c.checkEnvelope(); err != nil {
		return c.cut(), refuse(ErrMalformed, "%v", err)
	}
	switch {
	case carriesType(b): // domain separation: only acks carry a type (see AckType)
		return c, refuse(ErrMalformed, "payload has a type: an ack, not a command")
	case c.V != SchemaVersion:
		return c, refuse(ErrMalformed, "schema version %d, want %d", c.V, SchemaVersion)
	case c.ID == "":
		return c, refuse(ErrMalformed, "missing id")
	case c.Counter == 0:
		return c, refuse(ErrMalformed, "missing counter (must be above zero and above the last one accepted)")
	}
	return c, nil // not a typed nil *ReplyError
}

// ParsePublicKeyPEM reads an Ed25519 public key from a PEM "PUBLIC KEY"
// block (PKIX), as written by `openssl pkey -pubout` or GenerateKeyPEM.
func ParsePublicKeyPEM(b []byte) (ed25519.PublicKey, error) {
	block, _ := pem.Decode(b)
	if block == nil || block.Type != "PUBLIC KEY" {
		return nil, errors.New("public key: no PEM \"PUBLIC KEY\" block")
	}
	k, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("public key: %w", err)
	}
	pub, ok := k.(ed25519.PublicKey)
	if !ok {
		return nil, fmt.Errorf("public key: %T, want an Ed25519 key", k)
	}
	return pub, nil
}

// ParsePrivateKeyPEM reads an Ed25519 private key from a PEM "PRIVATE KEY"
// block (PKCS#8), as written by `openssl genpkey -algorithm ed25519`.
func ParsePrivateKeyPEM(b []byte) (ed25519.PrivateKey, error) {
	block, _ := pem.Decode(b)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, errors.New("private key: no PEM \"PRIVATE KEY\" block")
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("private key: %w", err)
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("private key: %T, want an Ed25519 key", k)
	}
	return priv, nil
}

// GenerateKeyPEM makes a new Ed25519 key pair, PEM encoded as
// ParsePublicKeyPEM and ParsePrivateKeyPEM read them.
func GenerateKeyPEM() (pub, priv []byte, err error) {
	pk, sk, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generate key: %w", err)
	}
	pubDER, err := x509.MarshalPKIXPublicKey(pk)
	if err != nil {
		return nil, nil, fmt.Errorf("generate key: %w", err)
	}
	privDER, err := x509.MarshalPKCS8PrivateKey(sk)
	if err != nil {
		return nil, nil, fmt.Errorf("generate key: %w", err)
	}
	pub = pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	priv = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: privDER})
	return pub, priv, nil
}
