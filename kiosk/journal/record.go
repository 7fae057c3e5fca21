package journal

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash/crc32"

	bolt "go.etcd.io/bbolt"
)

// Self-describing records.
//
// Every event and snapshot value this program stores ends with a checksum
// field, so that a raw scan of a damaged file's bytes can find every
// intact record without trusting bbolt's pages (see salvage.go):
//
//	{"id":"…",…,"data":{…},"crc":"CCCCCCCC-LLLLLLLL"}
//
// LLLLLLLL is the length in bytes of the body, everything before
// `,"crc":`, and CCCCCCCC its CRC-32C, both 8 hex digits. The length lets
// a scanner that finds the 27-byte suffix jump to the record's first
// byte; the checksum tells an intact record from damaged or partial
// bytes. A new JSON field is an additive change (format minor 4): an
// older kioskd decodes the value and ignores "crc". Nothing outside the
// journal sees the field: Event and Snapshot do not carry it.
//
// Values written before minor 4 have no checksum ("legacy"): they are
// read and checked by decoding, as before, and a raw scan cannot find
// them; only bbolt's own reads of a damaged file recover them.

var crcTable = crc32.MakeTable(crc32.Castagnoli)

const (
	sealHead = `,"crc":"`
	sealLen  = len(sealHead) + 8 + 1 + 8 + 2 // ,"crc":"CCCCCCCC-LLLLLLLL"}
)

// seal appends the checksum field to the JSON object obj.
func seal(obj []byte) ([]byte, error) {
	if len(obj) < 3 || obj[0] != '{' || obj[len(obj)-1] != '}' {
		return nil, fmt.Errorf("seal: not a non-empty JSON object: %.20q", obj)
	}
	body := obj[:len(obj)-1]
	out := make([]byte, 0, len(obj)+sealLen)
	out = append(out, body...)
	out = fmt.Appendf(out, `%s%08x-%08x"}`, sealHead, crc32.Checksum(body, crcTable), len(body))
	return out, nil
}

// sealJSON marshals v and seals it.
func sealJSON(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return seal(b)
}

// sealState says what unseal found.
type sealState int

const (
	sealOK     sealState = iota // checksum present and right
	sealLegacy                  // no checksum field: written before minor 4
	sealBad                     // a checksum field that does not match
)

// unseal checks v's checksum. For sealOK it returns the JSON object
// without the checksum field; otherwise v itself.
func unseal(v []byte) ([]byte, sealState) {
	body, st := sealedBody(v)
	if st != sealOK {
		return v, st
	}
	out := make([]byte, 0, len(body)+1)
	return append(append(out, body...), '}'), sealOK
}

// sealedBody checks v's checksum without copying; for sealOK it returns
// the body, the object without its checksum field and closing brace.
func sealedBody(v []byte) ([]byte, sealState) {
	n := len(v)
	if n < sealLen+1 || string(v[n-sealLen:n-sealLen+len(sealHead)]) != sealHead {
		return v, sealLegacy
	}
	sum, size, ok := parseSeal(v[n-sealLen+len(sealHead):])
	body := v[:n-sealLen]
	if !ok || size != uint32(len(body)) || crc32.Checksum(body, crcTable) != sum {
		return v, sealBad
	}
	return body, sealOK
}

// parseSeal reads `CCCCCCCC-LLLLLLLL"}`.
func parseSeal(s []byte) (sum, size uint32, ok bool) {
	if len(s) != 19 || s[8] != '-' || s[17] != '"' || s[18] != '}' {
		return 0, 0, false
	}
	var b [8]byte
	if _, err := hex.Decode(b[:4], s[:8]); err != nil {
		return 0, 0, false
	}
	if _, err := hex.Decode(b[4:], s[9:17]); err != nil {
		return 0, 0, false
	}
	sum = uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	size = uint32(b[4])<<24 | uint32(b[5])<<16 | uint32(b[6])<<8 | uint32(b[7])
	return sum, size, true
}

// sealedAt returns, for a suffix ending at end in buf, the start of the
// record it closes, or -1 when the bytes there are not an intact record.
func sealedAt(buf []byte, end int) int {
	if end < sealLen+1 || end > len(buf) {
		return -1
	}
	sum, size, ok := parseSeal(buf[end-sealLen+len(sealHead) : end])
	start := end - sealLen - int(size)
	if !ok || start < 0 || buf[start] != '{' {
		return -1
	}
	if crc32.Checksum(buf[start:end-sealLen], crcTable) != sum {
		return -1
	}
	return start
}

// encodeEvent is the stored form of ev.
func encodeEvent(ev Event) ([]byte, error) {
	return sealJSON(ev)
}

// storedSnapshot is the stored form of a Snapshot. Stamp grows with every
// snapshot put (the incidents bucket's sequence), so that of several
// copies of one incident a raw scan finds, the newest is known.
type storedSnapshot struct {
	ID    string          `json:"id"`
	Open  bool            `json:"open"`
	Data  json.RawMessage `json:"data,omitempty"`
	Stamp uint64          `json:"stamp,omitempty"`
}

// verifyEventValue checks a stored event under seq key k without
// decoding it when it is sealed: the checksum, the seq it holds, and
// that ids maps its id back to k.
func verifyEventValue(ids *bolt.Bucket, k, v []byte) error {
	body, st := sealedBody(v)
	var id []byte
	switch st {
	case sealBad:
		return fmt.Errorf("event %d: %w: checksum mismatch", getUint(k), ErrCorrupt)
	case sealLegacy:
		ev, err := decodeEventValue(v)
		if err != nil {
			return fmt.Errorf("event %d: %w", getUint(k), err)
		}
		id = []byte(ev.ID)
	default:
		id = idOf(body)
	}
	if seq, ok := seqOf(body); ok && seq != getUint(k) {
		return fmt.Errorf("event %d: %w: holds seq %d", getUint(k), ErrCorrupt, seq)
	} else if !ok {
		return fmt.Errorf("event %d: %w: no seq", getUint(k), ErrCorrupt)
	}
	if id != nil && !bytes.Equal(ids.Get(id), k) {
		return fmt.Errorf("event %d: %w: id entry %q missing or damaged", getUint(k), ErrCorrupt, id)
	}
	return nil
}

// idOf returns the id a sealed event body starts with: Append's ids are
// 32 hex digits, first in the JSON. nil for any other shape.
func idOf(body []byte) []byte {
	const head = `{"id":"`
	if len(body) < len(head)+33 || string(body[:len(head)]) != head || body[len(head)+32] != '"' {
		return nil
	}
	return body[len(head) : len(head)+32]
}

// seqOf finds the envelope's seq in a stored event without decoding it.
// The envelope's fields come before "data", and a `,"seq":` inside a JSON
// string would have its quote escaped, so the first match is the
// envelope's.
func seqOf(v []byte) (uint64, bool) {
	i := bytes.Index(v, []byte(`,"seq":`))
	if i < 0 {
		return 0, false
	}
	var n uint64
	digits := 0
	for _, c := range v[i+len(`,"seq":`):] {
		if c < '0' || c > '9' || digits > 19 {
			break
		}
		n = n*10 + uint64(c-'0')
		digits++
	}
	return n, digits > 0
}

// verifySnapshotValue checks a stored snapshot under incident id k.
func verifySnapshotValue(k, v []byte) error {
	body, st := sealedBody(v)
	switch st {
	case sealBad:
		return fmt.Errorf("snapshot %q: %w: checksum mismatch", k, ErrCorrupt)
	case sealLegacy:
		s, err := decodeSnapshot(v)
		if err == nil && s.ID != string(k) {
			err = fmt.Errorf("snapshot %q: %w: holds %q", k, ErrCorrupt, s.ID)
		}
		return err
	}
	id, err := json.Marshal(string(k))
	if err != nil || !bytes.HasPrefix(body, append([]byte(`{"id":`), id...)) {
		return fmt.Errorf("snapshot %q: %w: holds another id", k, ErrCorrupt)
	}
	return nil
}
