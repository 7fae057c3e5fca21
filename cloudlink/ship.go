package cloudlink

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"kioskd/cloudlink/contract"
)

// flight is an event published in this session and not yet acked by the platform.
type flight struct {
	ev     contract.Event
	sentAt time.Time
}

// puback is a publish whose broker PUBACK has not been seen yet.
type puback struct {
	tok    mqtt.Token
	sentAt time.Time
}

// shipUrgent publishes the outbox's urgent events that are not in flight yet,
// ahead of the backlog and beyond the window: a new alarm never waits for
// the backlog to drain. A read error is logged and retried on the next tick.
func (s *session) shipUrgent() error {
	evs, err := s.l.outbox.Urgent(s.cfg.Window)
	if err != nil {
		s.l.log.Error("cloudlink: read urgent events", "err", err)
		return nil
	}
	return s.publishEvents(s.notInFlight(evs))
}

// fill publishes pending events after the fill cursor until the window is
// full or the outbox has no more. The cursor is the highest seq taken from
// Pending in this session, not the highest in flight: an urgent event with a
// high seq must not make the backlog before it look sent. An outbox read
// error is logged and retried on the next wake-up; it is no reason to drop
// the connection.
func (s *session) fill() error {
	for len(s.inflight) < s.cfg.Window {
		limit := s.cfg.Window - len(s.inflight)
		evs, err := s.l.outbox.Pending(s.cursor, limit)
		if err != nil {
			s.l.log.Error("cloudlink: read outbox", "err", err)
			return nil
		}
		if len(evs) == 0 {
			return nil
		}
		s.cursor = evs[len(evs)-1].Seq
		if err := s.publishEvents(s.notInFlight(evs)); err != nil {
			return err
		}
		if len(evs) < limit {
			return nil
		}
	}
	return nil
}

// notInFlight drops the events already in flight or acked and being recorded.
func (s *session) notInFlight(evs []contract.Event) []contract.Event {
	return slices.DeleteFunc(evs, func(ev contract.Event) bool {
		return s.inflight[ev.ID] != nil || s.recording[ev.ID] != nil
	})
}

// resend publishes again, in seq order, every event unacked for AckTimeout.
func (s *session) resend() error {
	now := time.Now()
	var due []contract.Event
	for _, f := range s.inflight {
		if now.Sub(f.sentAt) >= s.cfg.AckTimeout {
			due = append(due, f.ev)
		}
	}
	if len(due) == 0 {
		return nil
	}
	slices.SortFunc(due, func(a, b contract.Event) int { return cmp.Compare(a.Seq, b.Seq) })
	s.l.log.Info("cloudlink: re-sending unacked events", "count", len(due), "first_seq", due[0].Seq)
	s.l.addResent(len(due))
	return s.publishEvents(due)
}

// publishEvents hands evs to paho in order and puts them in flight. It does
// not wait for the broker's PUBACKs, so the window keeps flowing; checkPubacks
// ends the session if one fails or is overdue. PUBACK only means the broker
// has them: they stay in flight until the platform acks them.
func (s *session) publishEvents(evs []contract.Event) error {
	if len(evs) == 0 {
		return nil
	}
	now := time.Now()
	for _, ev := range evs {
		s.inflight[ev.ID] = &flight{ev: ev, sentAt: now}
		b, err := encodeEvent(ev, s.cfg.KioskID)
		if err != nil {
			// A journal bug: keep it in flight so the platform sees the gap and we retry.
			s.l.log.Error("cloudlink: cannot encode event", "id", ev.ID, "seq", ev.Seq, "err", err)
			continue
		}
		tok := s.client.Publish(s.cfg.Topics.Events(), 1, false, b)
		if err := failedNow(tok); err != nil {
			return fmt.Errorf("publish event seq %d: %w", ev.Seq, err)
		}
		s.pubacks = append(s.pubacks, puback{tok: tok, sentAt: now})
	}
	s.l.setInFlight(len(s.inflight))
	return nil
}

func encodeEvent(ev contract.Event, kiosk string) ([]byte, error) {
	if ev.V == 0 {
		ev.V = contract.SchemaVersion
	}
	if ev.Kiosk == "" {
		ev.Kiosk = kiosk
	}
	return json.Marshal(ev)
}

// failedNow returns the error of a token that has already failed: paho fails
// a publish at once when it is not connected or its write queue timed out.
func failedNow(tok mqtt.Token) error {
	select {
	case <-tok.Done():
		return tok.Error()
	default:
		return nil
	}
}

// checkPubacks forgets the publishes the broker has acknowledged, oldest
// first, and fails when one failed or has waited longer than OpTimeout: a
// broker that takes publishes and never answers is a dead session.
func (s *session) checkPubacks() error {
	n := 0
	defer func() { s.pubacks = slices.Delete(s.pubacks, 0, n) }()
	for ; n < len(s.pubacks); n++ {
		p := s.pubacks[n]
		select {
		case <-p.tok.Done():
			if err := p.tok.Error(); err != nil {
				return fmt.Errorf("publish event: %w", err)
			}
			continue
		default:
		}
		if wait := time.Since(p.sentAt); wait >= s.cfg.OpTimeout {
			return fmt.Errorf("publish event: no PUBACK from broker within %v", s.cfg.OpTimeout)
		}
		return nil
	}
	return nil
}
