package contract

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"sync"
)

// Acks are signed like commands, so that only the platform can take an
// alarm out of a kiosk's outbox: a broker admin, a leaked platform login or
// a wrong ACL line can publish on the ack topic, but cannot sign.

// AckType is the value of Ack.Type. It is what keeps an ack and a command
// apart when one platform key signs both: an ack payload must carry it and
// a command payload must not carry a "type" at all (decodeCommand refuses
// one that does), so a signed message of one kind is never taken for the
// other.
const AckType = "ack"

// Bounds of an ack message; a larger one is refused as malformed.
const (
	MaxAckIDs          = 1024      // ids in one ack
	MaxAckIDBytes      = 128       // bytes of one id (the kiosk's ids are 32)
	MaxAckMessageBytes = 256 << 10 // bytes of the whole message on the ack topic
)

// Why a kiosk refused an ack: the code of an AckError and of the
// security.ack_refused event. A refused ack changes nothing.
const (
	AckMalformed    = "malformed"     // not a signed ack envelope, or a payload that is not an ack, or over a bound
	AckUnsigned     = "unsigned"      // a bare ack ({"v":1,"ids":[...]}) without an envelope and signature
	AckBadSignature = "bad_signature" // no ack key the kiosk trusts verifies sig
	AckWrongKiosk   = "wrong_kiosk"   // kiosk is not this kiosk
	AckWrongBoot    = "wrong_boot"    // boot_epoch is not the kiosk's current boot epoch
)

// SignedAck is what travels on the ack topic: the Ack's JSON bytes and an
// Ed25519 signature over exactly those bytes, both base64 (standard
// alphabet, padded), as in a SignedCommand.
type SignedAck struct {
	V       int    `json:"v"`
	Payload string `json:"payload"` // base64 of the Ack's JSON
	Sig     string `json:"sig"`     // base64 of the Ed25519 signature over the decoded payload
}

// AckError says why an ack was refused.
type AckError struct {
	Code    string // one of the Ack* codes
	Message string // a sentence for people
}

func (e *AckError) Error() string { return e.Code + ": " + e.Message }

func refuseAck(code, format string, args ...any) *AckError {
	return &AckError{Code: code, Message: fmt.Sprintf(format, args...)}
}

// SignAck encodes a (setting V and Type) and signs it with key, returning
// the message to publish on the kiosk's ack topic. a must name the kiosk
// and its current boot epoch and carry 1 to MaxAckIDs ids.
func SignAck(key ed25519.PrivateKey, a Ack) ([]byte, error) {
	if len(key) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("sign ack: private key of %d bytes, want %d", len(key), ed25519.PrivateKeySize)
	}
	a.V, a.Type = SchemaVersion, AckType
	if err := a.check(); err != nil {
		return nil, fmt.Errorf("sign ack: %w", err)
	}
	payload, err := json.Marshal(a)
	if err != nil {
		return nil, fmt.Errorf("sign ack: %w", err)
	}
	return json.Marshal(SignedAck{
		V:       SchemaVersion,
		Payload: base64.StdEncoding.EncodeToString(payload),
		Sig:     base64.StdEncoding.EncodeToString(ed25519.Sign(key, payload)),
	})
}

// OpenAck checks a message from the ack topic of kiosk in its boot
// bootEpoch: a signed envelope whose signature verifies under one of keys,
// carrying a well-formed Ack for this kiosk and this boot. Errors are
// *AckError. With an error the returned Ack is as the message claimed it,
// unverified, for the record only: never act on it.
func OpenAck(msg []byte, keys []ed25519.PublicKey, kiosk string, bootEpoch uint64) (Ack, error) {
	if len(msg) > MaxAckMessageBytes {
		return Ack{}, refuseAck(AckMalformed, "%d bytes, above the %d allowed", len(msg), MaxAckMessageBytes)
	}
	payload, sig, err := decodeEnvelope(msg)
	if err != nil {
		if bare, ok := bareAck(msg); ok {
			return bare, refuseAck(AckUnsigned, "a bare ack without a signature; sign it (SignedAck)")
		}
		return Ack{}, refuseAck(AckMalformed, "not a signed ack envelope: %v", err)
	}
	a, err := decodeAck(payload)
	if !verifiedByAny(payload, sig, keys) {
		return a, refuseAck(AckBadSignature, "signature does not verify under any of the %d configured ack keys", len(keys))
	}
	if err != nil {
		return a, err
	}
	return a, checkAddress(a, kiosk, bootEpoch)
}

// DecodeUnsignedAck reads a bare Ack ({"v":1,"ids":[...]}, not addressed),
// or the payload of an envelope without checking its signature, which must
// then name kiosk and bootEpoch. Only for kiosks configured with
// allow_unsigned and no ack key (development): anyone who can publish can
// then empty the outbox.
func DecodeUnsignedAck(msg []byte, kiosk string, bootEpoch uint64) (Ack, error) {
	if len(msg) > MaxAckMessageBytes {
		return Ack{}, refuseAck(AckMalformed, "%d bytes, above the %d allowed", len(msg), MaxAckMessageBytes)
	}
	if bare, ok := bareAck(msg); ok { // first: one JSON pass for the usual case
		if err := bare.checkIDs(); err != nil {
			return bare, refuseAck(AckMalformed, "%v", err)
		}
		return bare, nil
	}
	payload, _, err := decodeEnvelope(msg)
	if err != nil {
		return Ack{}, refuseAck(AckMalformed, "neither a bare ack nor an ack envelope: %v", err)
	}
	a, err := decodeAck(payload)
	if err != nil {
		return a, err
	}
	return a, checkAddress(a, kiosk, bootEpoch)
}

// bareAck reads msg as an unsigned v1 ack, as platforms sent before acks
// were signed: a JSON object with ids and without payload.
func bareAck(msg []byte) (Ack, bool) {
	var a Ack
	if json.Unmarshal(msg, &a) != nil || a.V != SchemaVersion || a.IDs == nil {
		return Ack{}, false
	}
	return a, true
}

// decodeAck decodes a verified or unverified ack payload and checks its own
// fields. A payload without type "ack" (a command's, say) is refused.
func decodeAck(b []byte) (Ack, error) {
	var a Ack
	if err := json.Unmarshal(b, &a); err != nil {
		return Ack{}, refuseAck(AckMalformed, "payload is not a JSON ack: %v", err)
	}
	if err := a.check(); err != nil {
		return a, refuseAck(AckMalformed, "%v", err)
	}
	return a, nil
}

// check checks the fields an Ack must have, whoever it is for.
func (a Ack) check() error {
	switch {
	case a.V != SchemaVersion:
		return fmt.Errorf("schema version %d, want %d", a.V, SchemaVersion)
	case a.Type != AckType:
		return fmt.Errorf("type %q, want %q: not an ack payload", a.Type, AckType)
	case a.Kiosk == "":
		return fmt.Errorf("no kiosk")
	case a.BootEpoch == 0:
		return fmt.Errorf("no boot_epoch")
	}
	return a.checkIDs()
}

func (a Ack) checkIDs() error {
	if len(a.IDs) == 0 || len(a.IDs) > MaxAckIDs {
		return fmt.Errorf("%d ids; send 1 to %d", len(a.IDs), MaxAckIDs)
	}
	for i, id := range a.IDs {
		if id == "" || len(id) > MaxAckIDBytes {
			return fmt.Errorf("ids[%d]: %d bytes; an id has 1 to %d", i, len(id), MaxAckIDBytes)
		}
	}
	return nil
}

// checkAddress refuses an ack for another kiosk or another boot of this one.
func checkAddress(a Ack, kiosk string, bootEpoch uint64) error {
	if a.Kiosk != kiosk {
		return refuseAck(AckWrongKiosk, "addressed to kiosk %q, this is %q", a.Kiosk, kiosk)
	}
	if a.BootEpoch != bootEpoch {
		return refuseAck(AckWrongBoot, "for boot %d, this kiosk runs boot %d: sign acks with the boot_epoch of its latest status", a.BootEpoch, bootEpoch)
	}
	return nil
}

// carriesType reports whether a payload carries a "type" member, which only
// acks have: a signed ack must never pass for a command.
func carriesType(payload []byte) bool {
	var probe struct {
		Type *json.RawMessage `json:"type"`
	}
	return json.Unmarshal(payload, &probe) == nil && probe.Type != nil
}

// BootEpochs is a platform's view of each kiosk's current boot epoch, for
// signing acks: feed it every status and heartbeat message (both retained;
// the kiosk publishes its status on every connect, before any event). The
// latest value wins, not the highest: a reinstalled kiosk starts again at
// 1. An event's boot_epoch is the boot that journaled it, which may be an
// earlier one: do not feed events. Safe for concurrent use.
type BootEpochs struct {
	mu sync.Mutex
	m  map[string]uint64
}

// See records the boot epoch of a kiosk's latest status or heartbeat.
func (b *BootEpochs) See(kiosk string, bootEpoch uint64) {
	if bootEpoch == 0 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.m == nil {
		b.m = map[string]uint64{}
	}
	b.m[kiosk] = bootEpoch
}

// Of is the kiosk's boot epoch as last seen, or 0 if none was seen yet.
func (b *BootEpochs) Of(kiosk string) uint64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.m[kiosk]
}

// SeeRetained feeds b from a status or heartbeat message (Availability or
// Heartbeat JSON); anything else is ignored.
func (b *BootEpochs) SeeRetained(payload []byte) {
	var m struct {
		Kiosk     string `json:"kiosk"`
		BootEpoch uint64 `json:"boot_epoch"`
	}
	if len(bytes.TrimSpace(payload)) > 0 && json.Unmarshal(payload, &m) == nil && ValidKioskID(m.Kiosk) {
		b.See(m.Kiosk, m.BootEpoch)
	}
}
