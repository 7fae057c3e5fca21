package journal

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// schemaVersion is the layout below. Bump it, and teach Open to migrate,
// whenever a bucket or an encoding changes.
const schemaVersion = 1

// The file's layout. Sequence numbers are 8-byte big-endian so that key
// order is seq order.
var (
	bucketMeta      = []byte("meta")            // keys below
	bucketEvents    = []byte("events")          // seq → event JSON; bucket sequence allocates seq
	bucketOutbox    = []byte("outbox")          // seq → present, while unacked
	bucketIDs       = []byte("ids")             // event id → seq
	bucketIncidents = []byte("incidents")       // incident id → snapshot JSON
	bucketOpen      = []byte("open")            // incident id → present, while open
	bucketIncEvents = []byte("incident_events") // incident id, 0x00, seq → present

	allBuckets = [][]byte{bucketMeta, bucketEvents, bucketOutbox, bucketIDs,
		bucketIncidents, bucketOpen, bucketIncEvents}

	keySchema    = []byte("schema_version") // uint64
	keyEpoch     = []byte("boot_epoch")     // uint64
	keyFloor     = []byte("clock_floor")    // time.Time MarshalBinary
	keyHeartbeat = []byte("heartbeat")      // uint64, bumped by CheckWritable

	// present is the value of set-like buckets. It is not empty because
	// bbolt's Get cannot tell an empty value from a missing key.
	present = []byte{1}
)

// maxIDLen bounds incident ids, well under bbolt's key size limit.
const maxIDLen = 256

func putUint(v uint64) []byte {
	return binary.BigEndian.AppendUint64(nil, v)
}

// getUint decodes a putUint value; a missing or short value reads as 0.
func getUint(b []byte) uint64 {
	if len(b) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(b)
}

func seqKey(seq uint64) []byte { return putUint(seq) }

// incidentPrefix is the key prefix of one incident's entries in
// bucketIncEvents. Incident ids never contain 0x00 (Append refuses them).
func incidentPrefix(id string) []byte {
	return append([]byte(id), 0)
}

func incidentKey(id string, seq uint64) []byte {
	return binary.BigEndian.AppendUint64(incidentPrefix(id), seq)
}

// decodeEvent reads the event stored under seq key k.
func decodeEvent(events *bolt.Bucket, k []byte) (Event, error) {
	v := events.Get(k)
	if v == nil {
		return Event{}, fmt.Errorf("event %d missing: %w", getUint(k), ErrCorrupt)
	}
	var ev Event
	if err := json.Unmarshal(v, &ev); err != nil {
		return Event{}, fmt.Errorf("event %d: %w: %w", getUint(k), ErrCorrupt, err)
	}
	return ev, nil
}

func decodeSnapshot(v []byte) (Snapshot, error) {
	var s Snapshot
	if err := json.Unmarshal(v, &s); err != nil {
		return Snapshot{}, fmt.Errorf("snapshot: %w: %w", ErrCorrupt, err)
	}
	return s, nil
}

// compactJSON validates d and returns a compact copy the caller cannot
// change behind our back. Empty means none.
func compactJSON(d json.RawMessage) (json.RawMessage, error) {
	if len(d) == 0 {
		return nil, nil
	}
	var b bytes.Buffer
	if err := json.Compact(&b, d); err != nil {
		return nil, fmt.Errorf("%w: data: %w", ErrInvalid, err)
	}
	return b.Bytes(), nil
}
