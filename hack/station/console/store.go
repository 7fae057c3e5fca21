package console

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"kioskd/cloudlink/contract"
)

// Buckets of the station's bbolt file.
var (
	bucketEvents    = []byte("events")    // event id → the payload as received
	bucketSeqs      = []byte("seqs")      // kiosk → gen (8 bytes) → seq (8 bytes) → event id
	bucketGens      = []byte("gens")      // kiosk → its current sequence generation (8 bytes)
	bucketIncidents = []byte("incidents") // kiosk/incident → gen+seq (16 bytes) → event id
	bucketCommands  = []byte("commands")  // command id → Sent, JSON
	bucketCounters  = []byte("counters")  // kiosk → the last command counter used (8 bytes)
)

// Store is the station's own durable record: every event it acked, by id, and
// the commands it sent. Every write is one fsynced bbolt transaction.
type Store struct {
	db *bolt.DB
}

// Received is one event as it came off the wire.
type Received struct {
	Kiosk   string // from the topic, which the broker's ACL vouches for
	Event   contract.Event
	Payload []byte
}

// Stored says what PutEvents did with one Received.
type Stored struct {
	New bool   // false: a duplicate, already stored
	Gen uint64 // the kiosk's sequence generation the seq belongs to
}

// OpenStore opens or creates the bbolt file at path.
func OpenStore(path string) (*Store, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 2 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("open station store %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketEvents, bucketSeqs, bucketGens, bucketIncidents, bucketCommands, bucketCounters, bucketRollouts} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("init station store %s: %w", path, err)
	}
	return &Store{db: db}, nil
}

// Close closes the file.
func (s *Store) Close() error { return s.db.Close() }

// PutEvents stores a batch in one transaction: when it returns nil, every new
// event is on disk and may be acked. An event whose id is stored already is
// reported as not New and changes nothing.
func (s *Store) PutEvents(batch []Received) ([]Stored, error) {
	out := make([]Stored, len(batch))
	err := s.db.Update(func(tx *bolt.Tx) error {
		for i, r := range batch {
			st, err := putEvent(tx, r)
			if err != nil {
				return fmt.Errorf("event %s: %w", r.Event.ID, err)
			}
			out[i] = st
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store events: %w", err)
	}
	return out, nil
}

func putEvent(tx *bolt.Tx, r Received) (Stored, error) {
	events := tx.Bucket(bucketEvents)
	id := []byte(r.Event.ID)
	if events.Get(id) != nil {
		return Stored{}, nil
	}
	if err := events.Put(id, r.Payload); err != nil {
		return Stored{}, err
	}
	gen, err := generation(tx, r)
	if err != nil {
		return Stored{}, err
	}
	seqs, err := nested(tx.Bucket(bucketSeqs), []byte(r.Kiosk), u64(gen))
	if err != nil {
		return Stored{}, err
	}
	if err := seqs.Put(u64(r.Event.Seq), id); err != nil {
		return Stored{}, err
	}
	if r.Event.Incident != "" {
		inc, err := nested(tx.Bucket(bucketIncidents), []byte(r.Kiosk+"/"+r.Event.Incident))
		if err != nil {
			return Stored{}, err
		}
		if err := inc.Put(append(u64(gen), u64(r.Event.Seq)...), id); err != nil {
			return Stored{}, err
		}
	}
	return Stored{New: true, Gen: gen}, nil
}

// generation returns the kiosk's sequence generation for r, starting a new
// one when r shows that the kiosk's journal started again from seq 1
// (contract doc, "Order and gaps"): its seq is held by another event, or it
// is a journal.recovered event and higher seqs are already held.
func generation(tx *bolt.Tx, r Received) (uint64, error) {
	gens := tx.Bucket(bucketGens)
	var gen uint64
	if v := gens.Get([]byte(r.Kiosk)); v != nil {
		gen = binary.BigEndian.Uint64(v)
	}
	kiosk := tx.Bucket(bucketSeqs).Bucket([]byte(r.Kiosk))
	if kiosk == nil {
		return gen, nil
	}
	seqs := kiosk.Bucket(u64(gen))
	if seqs == nil {
		return gen, nil
	}
	restarted := seqs.Get(u64(r.Event.Seq)) != nil
	if r.Event.Type == "journal.recovered" {
		last, _ := seqs.Cursor().Last()
		restarted = restarted || (last != nil && binary.BigEndian.Uint64(last) > r.Event.Seq)
	}
	if !restarted {
		return gen, nil
	}
	gen++
	return gen, gens.Put([]byte(r.Kiosk), u64(gen))
}

// nested returns the bucket at path under b, creating what is missing.
func nested(b *bolt.Bucket, path ...[]byte) (*bolt.Bucket, error) {
	for _, name := range path {
		var err error
		if b, err = b.CreateBucketIfNotExists(name); err != nil {
			return nil, err
		}
	}
	return b, nil
}

func u64(n uint64) []byte { return binary.BigEndian.AppendUint64(nil, n) }

// Has reports whether an event id is stored.
func (s *Store) Has(id string) (bool, error) {
	var ok bool
	err := s.db.View(func(tx *bolt.Tx) error {
		ok = tx.Bucket(bucketEvents).Get([]byte(id)) != nil
		return nil
	})
	return ok, err
}

// CountEvents returns how many events are stored.
func (s *Store) CountEvents() (int, error) {
	var n int
	err := s.db.View(func(tx *bolt.Tx) error {
		n = tx.Bucket(bucketEvents).Stats().KeyN
		return nil
	})
	return n, err
}

// EventIDs returns every stored event id; for tests and audits.
func (s *Store) EventIDs() ([]string, error) {
	var ids []string
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketEvents).ForEach(func(k, _ []byte) error {
			ids = append(ids, string(k))
			return nil
		})
	})
	return ids, err
}

// Timeline returns the stored events of one incident in seq order.
func (s *Store) Timeline(kiosk, incident string) ([]contract.Event, error) {
	var out []contract.Event
	err := s.db.View(func(tx *bolt.Tx) error {
		inc := tx.Bucket(bucketIncidents).Bucket([]byte(kiosk + "/" + incident))
		if inc == nil {
			return nil
		}
		events := tx.Bucket(bucketEvents)
		return inc.ForEach(func(_, id []byte) error {
			var ev contract.Event
			if err := json.Unmarshal(events.Get(id), &ev); err != nil {
				return fmt.Errorf("stored event %s: %w", id, err)
			}
			out = append(out, ev)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("timeline of %s/%s: %w", kiosk, incident, err)
	}
	return out, nil
}

// SeqSpan is one kiosk generation's stored seqs, for rebuilding gap tracking.
type SeqSpan struct {
	Kiosk string
	Gen   uint64
	Seqs  []uint64 // ascending
}

// Seqs returns the stored seqs of every kiosk's current generation.
func (s *Store) Seqs() ([]SeqSpan, error) {
	var out []SeqSpan
	err := s.db.View(func(tx *bolt.Tx) error {
		gens := tx.Bucket(bucketGens)
		return tx.Bucket(bucketSeqs).ForEachBucket(func(kiosk []byte) error {
			span := SeqSpan{Kiosk: string(kiosk)}
			if v := gens.Get(kiosk); v != nil {
				span.Gen = binary.BigEndian.Uint64(v)
			}
			seqs := tx.Bucket(bucketSeqs).Bucket(kiosk).Bucket(u64(span.Gen))
			if seqs == nil {
				return nil
			}
			_ = seqs.ForEach(func(k, _ []byte) error {
				span.Seqs = append(span.Seqs, binary.BigEndian.Uint64(k))
				return nil
			})
			out = append(out, span)
			return nil
		})
	})
	return out, err
}
