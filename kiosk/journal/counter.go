package journal

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// The command replay window. A platform command carries a signed counter;
// the journal remembers the last CommandWindow counters it accepted, and a
// floor at or below which every counter is spent. A counter is fresh when it
// is above the floor and not among those remembered, so commands may arrive
// out of counter order (two platform services, a re-send overtaken by a
// newer command) as long as fewer than CommandWindow newer ones were
// accepted first. It is IPsec's and DTLS's anti-replay window counted in
// accepted commands rather than in counter values: platforms count in clock
// nanoseconds, and two services' counters lie milliseconds (millions of
// values) apart, which no bitmap of counter values could span.
//
// Safety: a counter accepted once is either still remembered or, when it
// left the window, the floor was raised to it; the floor never goes down.
// So no counter is ever accepted twice, across restarts, and check and
// record are one fsynced transaction.

// CommandWindow is how many accepted commands the window remembers, with
// their replies. 64, as DTLS and most IPsec stacks: a platform sends one
// kiosk's commands one at a time per service, so commands in flight to a
// kiosk number its command services, a handful; and a re-send after a lost
// reply (the contract says after about 30 s) finds its reply unless 64 other
// commands were accepted meanwhile, which at a post's human pace takes
// hours. It bounds the window's size on disk to 64 records of at most
// maxWindowRecord bytes.
const CommandWindow = 64

// ErrStaleCounter is returned, wrapped, by AdmitCommand for a counter at or
// below the window's floor: it was accepted before, or CommandWindow newer
// commands were accepted since it was signed. A replay either way.
var ErrStaleCounter = errors.New("journal: command counter below the replay window")

// ErrSeenCounter is returned, wrapped, by AdmitCommand for a counter the
// window holds: a command with it was accepted already.
var ErrSeenCounter = errors.New("journal: command counter already accepted")

var (
	// keyCommandCounter holds the highest counter accepted (uint64). Older
	// programs accept only counters above it, so a rolled-back kioskd stays
	// safe, only stricter.
	keyCommandCounter = []byte("command_counter")
	// keyCommandFloor: every counter at or below it is spent (uint64).
	keyCommandFloor = []byte("command_floor")
	// bucketCommandWindow: counter (8 bytes big-endian) → AdmittedCommand
	// JSON, for the last CommandWindow accepted commands. Made by the first
	// AdmitCommand; older programs ignore it.
	bucketCommandWindow = []byte("command_window")
)

// maxWindowRecord bounds one remembered command: a reply larger than fits
// is not kept (a re-send then learns only that the command was accepted).
const maxWindowRecord = 4096

// AdmittedCommand is one command the window remembers.
type AdmittedCommand struct {
	Counter uint64 `json:"-"`
	// ID identifies the command: its id, or "sha256:" and the hash of an id
	// longer than maxIDLen.
	ID string `json:"id"`
	// Reply is what the kiosk answered, once RecordCommandReply stored it;
	// opaque to the journal.
	Reply json.RawMessage `json:"reply,omitempty"`
}

// SameID reports whether the remembered command has the given command id.
func (a AdmittedCommand) SameID(id string) bool { return a.ID == windowID(id) }

func windowID(id string) string {
	if len(id) <= maxIDLen {
		return id
	}
	sum := sha256.Sum256([]byte(id))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// CommandCounter returns the highest counter of a platform command accepted,
// 0 if none ever was.
func (j *Journal) CommandCounter() (uint64, error) {
	var n uint64
	err := j.view("read command counter", func(tx *bolt.Tx) error {
		n = getUint(tx.Bucket(bucketMeta).Get(keyCommandCounter))
		return nil
	})
	return n, err
}

// AdmitCommand accepts counter for the command id if it is fresh, recording
// it in the window in one fsynced transaction; two callers can never both
// accept the same counter. A counter the window holds returns
// ErrSeenCounter with the remembered command (is it the same id? has it a
// reply?); one at or below the floor returns ErrStaleCounter.
func (j *Journal) AdmitCommand(counter uint64, id string) (AdmittedCommand, error) {
	var seen AdmittedCommand
	err := j.update("admit command", func(tx *bolt.Tx) error {
		w, err := openWindow(tx)
		if err != nil {
			return err
		}
		if counter <= w.floor {
			return fmt.Errorf("%w: %d, window floor %d", ErrStaleCounter, counter, w.floor)
		}
		if v := w.seen.Get(putUint(counter)); v != nil {
			seen = decodeAdmitted(counter, v)
			return fmt.Errorf("%w: %d", ErrSeenCounter, counter)
		}
		return w.add(AdmittedCommand{Counter: counter, ID: windowID(id)})
	})
	return seen, err
}

// CommandAdmitted returns the command the window holds under counter, if
// any: a command accepted with it, and its reply once recorded.
func (j *Journal) CommandAdmitted(counter uint64) (AdmittedCommand, bool, error) {
	var a AdmittedCommand
	var ok bool
	err := j.view("read command window", func(tx *bolt.Tx) error {
		if b := tx.Bucket(bucketCommandWindow); b != nil {
			if v := b.Get(putUint(counter)); v != nil {
				a, ok = decodeAdmitted(counter, v), true
			}
		}
		return nil
	})
	return a, ok, err
}

// RecordCommandReply stores the reply the kiosk gave the command admitted
// with counter, so that a re-send of it gets the same answer. It does
// nothing if the window no longer holds the counter, holds another command
// under it, or the reply is too large to keep.
func (j *Journal) RecordCommandReply(counter uint64, id string, reply []byte) error {
	held, ok, err := j.CommandAdmitted(counter)
	if err != nil || !ok || !held.SameID(id) || held.Reply != nil {
		return err // nothing to keep: spare the fsync
	}
	return j.update("record command reply", func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketCommandWindow)
		if b == nil {
			return nil
		}
		v := b.Get(putUint(counter))
		if v == nil {
			return nil
		}
		rec := decodeAdmitted(counter, v)
		if !rec.SameID(id) || rec.Reply != nil {
			return nil
		}
		rec.Reply = reply
		nv, err := json.Marshal(rec)
		if err != nil || len(nv) > maxWindowRecord {
			return nil // kept without its reply
		}
		return b.Put(putUint(counter), nv)
	})
}

// CommandWindowState returns the window: its floor and the commands it
// remembers, in counter order. For tests and diagnostics.
func (j *Journal) CommandWindowState() (floor uint64, held []AdmittedCommand, err error) {
	err = j.view("read command window", func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		floor = getUint(meta.Get(keyCommandFloor))
		b := tx.Bucket(bucketCommandWindow)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			held = append(held, decodeAdmitted(getUint(k), v))
			return nil
		})
	})
	return floor, held, err
}

// decodeAdmitted reads a window record; a damaged one still counts as seen.
func decodeAdmitted(counter uint64, v []byte) AdmittedCommand {
	var a AdmittedCommand
	if json.Unmarshal(v, &a) != nil {
		a = AdmittedCommand{}
	}
	a.Counter = counter
	return a
}

// window is the replay window inside one write transaction.
type window struct {
	meta, seen     *bolt.Bucket
	highest, floor uint64
}

// openWindow reads the window. A highest counter above every remembered one
// was written by a program that keeps no window (an older kioskd, or this
// file's first command): everything up to it is spent.
func openWindow(tx *bolt.Tx) (window, error) {
	seen, err := tx.CreateBucketIfNotExists(bucketCommandWindow)
	if err != nil {
		return window{}, err
	}
	meta := tx.Bucket(bucketMeta)
	w := window{meta: meta, seen: seen,
		highest: getUint(meta.Get(keyCommandCounter)), floor: getUint(meta.Get(keyCommandFloor))}
	if top, _ := seen.Cursor().Last(); w.highest > getUint(top) {
		w.floor = max(w.floor, w.highest)
		return w, clearBucket(seen)
	}
	return w, nil
}

// add remembers a, raises the highest counter, and forgets the oldest
// commands beyond CommandWindow, raising the floor to them.
func (w window) add(a AdmittedCommand) error {
	v, err := json.Marshal(a)
	if err != nil {
		return err
	}
	if err := w.seen.Put(putUint(a.Counter), v); err != nil {
		return err
	}
	if a.Counter > w.highest {
		if err := w.meta.Put(keyCommandCounter, putUint(a.Counter)); err != nil {
			return err
		}
	}
	n := 0
	c := w.seen.Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		n++
	}
	for k, _ := c.First(); k != nil && n > CommandWindow; k, _ = c.First() {
		w.floor = max(w.floor, getUint(k))
		if err := c.Delete(); err != nil {
			return err
		}
		n--
	}
	return w.meta.Put(keyCommandFloor, putUint(w.floor))
}

func clearBucket(b *bolt.Bucket) error {
	c := b.Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.First() {
		if err := c.Delete(); err != nil {
			return err
		}
	}
	return nil
}
