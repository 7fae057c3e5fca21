package console

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"kioskd/cloudlink/contract"
)

// replyWait is how long a command may go unanswered before the page says so.
// The contract suggests re-sending after about 30 s once the kiosk is online.
const replyWait = 30 * time.Second

// Sent is one command the station sent, and its reply once one came.
type Sent struct {
	ID        string          `json:"id"`
	Kiosk     string          `json:"kiosk"`
	Name      string          `json:"name"`
	Incident  string          `json:"incident,omitempty"`
	Args      json.RawMessage `json:"args,omitempty"`
	Counter   uint64          `json:"counter"`
	SentAt    time.Time       `json:"sent_at"`
	SendError string          `json:"send_error,omitempty"` // the broker did not take it
	Reply     *contract.Reply `json:"reply,omitempty"`
	ReplyAt   time.Time       `json:"reply_at,omitzero"`
}

// Outcome is the one-word state of a sent command, for the page.
func (s Sent) Outcome(now time.Time) string {
	switch {
	case s.SendError != "":
		return "send_failed"
	case s.Reply != nil && s.Reply.OK:
		return "ok"
	case s.Reply != nil && s.Reply.Error != nil:
		return s.Reply.Error.Code
	case s.Reply != nil:
		return "error"
	case now.Sub(s.SentAt) > replyWait:
		return "no_reply"
	}
	return "pending"
}

// newCommandID returns a unique command id such as "st-9f86d081884c7d65".
func newCommandID() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return "st-" + hex.EncodeToString(b[:])
}

// signCommand builds, counts and signs one command. The counter is the
// station's clock in Unix nanoseconds, bumped past the last one used for the
// kiosk (persisted), so it rises strictly even if the clock steps back.
func (s *Store) signCommand(key ed25519.PrivateKey, cmd contract.Command, now time.Time) (contract.Command, []byte, error) {
	err := s.db.Update(func(tx *bolt.Tx) error {
		counters := tx.Bucket(bucketCounters)
		next := uint64(now.UnixNano())
		if v := counters.Get([]byte(cmd.Kiosk)); v != nil {
			next = max(next, binary.BigEndian.Uint64(v)+1)
		}
		cmd.Counter = next
		return counters.Put([]byte(cmd.Kiosk), u64(next))
	})
	if err != nil {
		return cmd, nil, fmt.Errorf("command counter: %w", err)
	}
	msg, err := contract.SignCommand(key, cmd)
	return cmd, msg, err
}

// PutCommand records a sent command (or updates its record).
func (s *Store) PutCommand(c Sent) error {
	b, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("store command %s: %w", c.ID, err)
	}
	err = s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketCommands).Put([]byte(c.ID), b)
	})
	if err != nil {
		return fmt.Errorf("store command %s: %w", c.ID, err)
	}
	return nil
}

// errNoCommand is returned when a reply names a command this store never sent.
var errNoCommand = errors.New("no such command")

// PutReply attaches a reply to the command it answers and returns the
// updated record, or errNoCommand if this station did not send it (another
// instance did).
func (s *Store) PutReply(r contract.Reply, at time.Time) (Sent, error) {
	var c Sent
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketCommands)
		v := b.Get([]byte(r.Command))
		if v == nil {
			return errNoCommand
		}
		if err := json.Unmarshal(v, &c); err != nil {
			return err
		}
		if c.Kiosk != r.Kiosk {
			return errNoCommand // an id clash with another kiosk's reply
		}
		c.Reply, c.ReplyAt = &r, at
		nb, err := json.Marshal(c)
		if err != nil {
			return err
		}
		return b.Put([]byte(c.ID), nb)
	})
	if err != nil {
		return c, fmt.Errorf("store reply to %s: %w", r.Command, err)
	}
	return c, nil
}

// Commands returns every command record, in no particular order.
func (s *Store) Commands() ([]Sent, error) {
	var out []Sent
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketCommands).ForEach(func(k, v []byte) error {
			var c Sent
			if err := json.Unmarshal(v, &c); err != nil {
				return fmt.Errorf("command %s: %w", k, err)
			}
			out = append(out, c)
			return nil
		})
	})
	return out, err
}

// Send signs a command, records it and hands it to the kiosk's courier
// (courier.go), which publishes it on the kiosk's cmd topic (QoS 1, not
// retained) once the kiosk has answered the commands before it, and again
// if no reply comes. The reply comes later, on cmd/reply. A command that
// cannot be queued is recorded with its SendError and returned with an
// error.
func (c *Console) Send(kiosk, name string, args any) (Sent, error) {
	return c.sendAs(newCommandID(), kiosk, name, args)
}

// sendAs is Send with the command's id chosen by the caller, who can then
// file events naming it before Send returns.
func (c *Console) sendAs(id, kiosk, name string, args any) (Sent, error) {
	topics, err := c.root.topics(kiosk)
	if err != nil {
		return Sent{}, fmt.Errorf("send %s: %w", name, err)
	}
	rawArgs, err := json.Marshal(args)
	if err != nil {
		return Sent{}, fmt.Errorf("send %s: %w", name, err)
	}
	now := time.Now()
	cmd := contract.Command{V: contract.SchemaVersion, ID: id, Kiosk: kiosk, Name: name, Args: rawArgs}
	if c.cfg.CommandTTL > 0 {
		cmd.Expires = now.Add(c.cfg.CommandTTL).UTC()
	}
	cmd, msg, err := c.store.signCommand(c.cfg.Key, cmd, now)
	if err != nil {
		return Sent{}, fmt.Errorf("send %s: %w", name, err)
	}
	var target struct {
		Incident string `json:"incident"`
	}
	_ = json.Unmarshal(rawArgs, &target)
	sent := Sent{ID: cmd.ID, Kiosk: kiosk, Name: name, Incident: target.Incident,
		Args: rawArgs, Counter: cmd.Counter, SentAt: now}
	// Recorded before it is published, so that a quick reply finds it.
	if err := c.store.PutCommand(sent); err != nil {
		return Sent{}, err
	}
	pubErr := c.enqueue(outgoing{id: sent.ID, kiosk: kiosk, topic: topics.Commands(), msg: msg})
	if pubErr != nil {
		sent.SendError = pubErr.Error()
		if err := c.store.PutCommand(sent); err != nil {
			c.log.Error("station: record failed command", "id", sent.ID, "err", err)
		}
	}
	c.mu.Lock()
	if prev := c.commands[sent.ID]; prev == nil || prev.Reply == nil {
		c.commands[sent.ID] = &sent
	}
	c.mu.Unlock()
	c.changed()
	return sent, pubErr
}
