package cloudlink

import (
	"cmp"
	"context"
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

// maxAckBatch bounds how many acked ids go to the outbox in one call.
const maxAckBatch = 1024

// ship re-sends overdue events, then fills the window from the outbox.
func (s *session) ship(ctx context.Context) error {
	if err := s.resend(ctx); err != nil {
		return err
	}
	return s.fill(ctx)
}

// resend publishes again, in seq order, every event unacked for AckTimeout.
func (s *session) resend(ctx context.Context) error {
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
	return s.publishEvents(ctx, due)
}

// fill publishes pending events after the highest seq in flight until the
// window is full or the outbox has no more. An outbox read error is logged and
// retried on the next wake-up; it is no reason to drop the connection.
func (s *session) fill(ctx context.Context) error {
	for len(s.inflight) < s.cfg.Window {
		limit := s.cfg.Window - len(s.inflight)
		evs, err := s.l.outbox.Pending(s.maxSeq(), limit)
		if err != nil {
			s.l.log.Error("cloudlink: read outbox", "err", err)
			return nil
		}
		fresh := slices.DeleteFunc(slices.Clone(evs), func(ev contract.Event) bool {
			return s.inflight[ev.ID] != nil
		})
		if len(fresh) == 0 {
			return nil
		}
		if err := s.publishEvents(ctx, fresh); err != nil {
			return err
		}
		if len(evs) < limit {
			return nil
		}
	}
	return nil
}

// maxSeq is the highest seq in flight, or 0 so that the oldest pending event
// comes next.
func (s *session) maxSeq() uint64 {
	var m uint64
	for _, f := range s.inflight {
		m = max(m, f.ev.Seq)
	}
	return m
}

// publishEvents publishes evs in order, pipelined, then waits for every PUBACK.
// PUBACK only means the broker has them: they stay in flight until acked.
func (s *session) publishEvents(ctx context.Context, evs []contract.Event) error {
	toks := make([]mqtt.Token, 0, len(evs))
	for _, ev := range evs {
		if ev.V == 0 {
			ev.V = contract.SchemaVersion
		}
		if ev.Kiosk == "" {
			ev.Kiosk = s.cfg.KioskID
		}
		b, err := json.Marshal(ev)
		if err != nil {
			// A journal bug: keep it in flight so the platform sees the gap and we retry.
			s.l.log.Error("cloudlink: cannot encode event", "id", ev.ID, "seq", ev.Seq, "err", err)
			continue
		}
		toks = append(toks, s.client.Publish(s.cfg.Topics.Events(), 1, false, b))
	}
	deadline := time.Now().Add(s.cfg.OpTimeout)
	for i, tok := range toks {
		if err := s.waitUntil(ctx, tok, deadline); err != nil {
			return fmt.Errorf("publish event %d of %d: %w", i+1, len(toks), err)
		}
	}
	now := time.Now()
	for _, ev := range evs {
		s.inflight[ev.ID] = &flight{ev: ev, sentAt: now}
	}
	s.l.setInFlight(len(s.inflight))
	return nil
}

// waitUntil waits for one token of a pipelined batch that shares a deadline.
func (s *session) waitUntil(ctx context.Context, tok mqtt.Token, deadline time.Time) error {
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	select {
	case <-tok.Done():
		return tok.Error()
	case <-timer.C:
		return fmt.Errorf("no PUBACK from broker within %v", s.cfg.OpTimeout)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// onAck is paho's handler for the ack topic: decode and hand over.
func (s *session) onAck(_ mqtt.Client, m mqtt.Message) {
	var a contract.Ack
	if err := json.Unmarshal(m.Payload(), &a); err != nil || a.V != contract.SchemaVersion || len(a.IDs) == 0 {
		s.l.log.Warn("cloudlink: ignoring malformed ack", "err", err, "v", a.V, "ids", len(a.IDs))
		return
	}
	select {
	case s.acks <- a.IDs:
	case <-s.done:
	}
}

// drainAcks adds to ids whatever other acks are already waiting, so that a
// burst of acks costs one outbox write.
func (s *session) drainAcks(ids []string) []string {
	for len(ids) < maxAckBatch {
		select {
		case more := <-s.acks:
			ids = append(ids, more...)
		default:
			return ids
		}
	}
	return ids
}

// ack removes acked events from the outbox and from the in-flight set. If the
// outbox cannot record it, they stay in flight: re-sent, re-acked, retried.
func (s *session) ack(ids []string) {
	if err := s.l.outbox.Ack(ids); err != nil {
		s.l.log.Error("cloudlink: record acks in outbox", "count", len(ids), "err", err)
		return
	}
	for _, id := range ids {
		delete(s.inflight, id)
	}
	s.l.setInFlight(len(s.inflight))
}
