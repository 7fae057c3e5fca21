package journal

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// schemaVersion is the layout below, the major of the format version (see
// format.go for the rule). Bump it, and teach Open to migrate,
// whenever a bucket or an encoding changes in a way older programs would
// misread. The class buckets and counters were added within version 1:
// older programs ignore them, and Open rebuilds them from the outbox (see
// reconcile), so a firmware rollback still opens the file.
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
	bucketUrgent    = []byte("urgent")          // seq → present, while an urgent event is unacked
	bucketTelemetry = []byte("telemetry")       // seq → present, while a telemetry event is unacked
	bucketClips     = []byte("clips")           // clip id → Clip JSON; see clips.go

	allBuckets = [][]byte{bucketMeta, bucketEvents, bucketOutbox, bucketIDs,
		bucketIncidents, bucketOpen, bucketIncEvents}
	// addedBuckets came after the first release; Open creates them in
	// files that lack them.
	addedBuckets = [][]byte{bucketUrgent, bucketTelemetry, bucketClips}

	keySchema    = []byte("schema_version") // uint64
	keyEpoch     = []byte("boot_epoch")     // uint64
	keyFloor     = []byte("clock_floor")    // time.Time MarshalBinary
	keyHeartbeat = []byte("heartbeat")      // uint64, bumped by Touch

	// Counters kept so that Stats need not count buckets. Open recounts
	// them from the outbox.
	keyPendingCritical  = []byte("pending_critical")  // uint64
	keyPendingTelemetry = []byte("pending_telemetry") // uint64
	keyDropped          = []byte("dropped_telemetry") // uint64, never goes down
	keyPruned           = []byte("pruned_history")    // uint64, never goes down; see prune.go

	// present is the value of set-like buckets. It is not empty because
	// bbolt's Get cannot tell an empty value from a missing key.
	present = []byte{1}
)

// buckets are one transaction's buckets.
type buckets struct {
	meta, events, outbox, ids, incEvents, urgent, telemetry *bolt.Bucket
}

// bucketsOf returns tx's buckets, set for keys that only ever grow: full
// pages, not bbolt's half-full default, halve the file.
func bucketsOf(tx *bolt.Tx) buckets {
	b := buckets{
		meta: tx.Bucket(bucketMeta), events: tx.Bucket(bucketEvents),
		outbox: tx.Bucket(bucketOutbox), ids: tx.Bucket(bucketIDs),
		incEvents: tx.Bucket(bucketIncEvents),
		urgent:    tx.Bucket(bucketUrgent), telemetry: tx.Bucket(bucketTelemetry),
	}
	for _, g := range []*bolt.Bucket{b.events, b.outbox, b.urgent, b.telemetry} {
		g.FillPercent = 1
	}
	return b
}

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
	ev, err := decodeEventValue(v)
	if err != nil {
		return Event{}, fmt.Errorf("event %d: %w", getUint(k), err)
	}
	if ev.Seq != getUint(k) {
		return Event{}, fmt.Errorf("event %d: %w: holds seq %d", getUint(k), ErrCorrupt, ev.Seq)
	}
	return ev, nil
}

// decodeEventValue decodes a stored event value. Whatever the bytes, it
// returns an event Append could have written or ErrCorrupt.
func decodeEventValue(v []byte) (Event, error) {
	if _, st := sealedBody(v); st == sealBad {
		return Event{}, fmt.Errorf("%w: checksum mismatch", ErrCorrupt)
	}
	var ev Event
	if err := json.Unmarshal(v, &ev); err != nil {
		return Event{}, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	switch {
	case ev.Seq == 0 || ev.ID == "" || ev.Type == "":
		return Event{}, fmt.Errorf("%w: event without seq, id or type", ErrCorrupt)
	case ev.Telemetry && ev.Urgent:
		return Event{}, fmt.Errorf("%w: event both telemetry and urgent", ErrCorrupt)
	}
	return ev, nil
}

// counters are the outbox's sizes and the telemetry dropped so far.
type counters struct{ critical, telemetry, dropped uint64 }

func readCounters(meta *bolt.Bucket) counters {
	return counters{
		critical:  getUint(meta.Get(keyPendingCritical)),
		telemetry: getUint(meta.Get(keyPendingTelemetry)),
		dropped:   getUint(meta.Get(keyDropped)),
	}
}

func (c counters) put(meta *bolt.Bucket) error {
	if err := meta.Put(keyPendingCritical, putUint(c.critical)); err != nil {
		return err
	}
	if err := meta.Put(keyPendingTelemetry, putUint(c.telemetry)); err != nil {
		return err
	}
	return meta.Put(keyDropped, putUint(c.dropped))
}

// addDropped adds n to the persisted dropped counter.
func addDropped(meta *bolt.Bucket, n uint64) error {
	if n == 0 {
		return nil
	}
	return meta.Put(keyDropped, putUint(getUint(meta.Get(keyDropped))+n))
}

// sub subtracts without wrapping; Open recounts if they ever disagree.
func sub(a, b uint64) uint64 {
	if b > a {
		return 0
	}
	return a - b
}

// decodeSnapshot decodes a stored snapshot, checking its checksum if it
// has one.
func decodeSnapshot(v []byte) (Snapshot, error) {
	s, _, err := decodeStoredSnapshot(v)
	return s, err
}

// decodeStoredSnapshot also returns the snapshot's stamp, 0 for a legacy one.
func decodeStoredSnapshot(v []byte) (Snapshot, uint64, error) {
	if _, st := sealedBody(v); st == sealBad {
		return Snapshot{}, 0, fmt.Errorf("snapshot: %w: checksum mismatch", ErrCorrupt)
	}
	var s storedSnapshot
	if err := json.Unmarshal(v, &s); err != nil {
		return Snapshot{}, 0, fmt.Errorf("snapshot: %w: %w", ErrCorrupt, err)
	}
	if s.ID == "" {
		return Snapshot{}, 0, fmt.Errorf("snapshot: %w: no id", ErrCorrupt)
	}
	return Snapshot{ID: s.ID, Open: s.Open, Data: s.Data}, s.Stamp, nil
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
