package cloudlink

import (
	"context"
	"errors"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"kioskd/cloudlink/contract"
)

// maxAckBatch bounds how many acked ids are taken from the ack channel at once.
const maxAckBatch = 1024

// ackResult is what the recorder reports for one Outbox.Ack call.
type ackResult struct {
	ids []string
	err error
}

// onAck is paho's handler for the ack topic: hand the message over without
// waiting (see inbox.go). It is checked on the session's ack checker, never
// here.
func (s *session) onAck(_ mqtt.Client, m mqtt.Message) {
	select {
	case s.ackMsgs <- m.Payload():
	default:
		s.l.drops.note(s.l, "ack", "ack queue full; the events are re-sent and acked again")
	}
}

// runAckChecks verifies every message from the ack topic, one at a time,
// until the session ends: the ids of an ack that passes go to the session
// loop; a refused one is counted and handed to the refusal reporter. It is
// a goroutine of its own so that signature checks cost the loop nothing.
func (s *session) runAckChecks() {
	for {
		select {
		case msg := <-s.ackMsgs:
			a, err := s.l.openAck(msg)
			if err != nil {
				s.l.ackRefused(s.ackRefusals, a, err)
				continue
			}
			select {
			case s.acks <- a.IDs:
			case <-s.done:
				return
			}
		case <-s.done:
			return
		}
	}
}

// openAck checks an ack message (contract.OpenAck). With no ack key and
// AllowUnsigned (development only), unsigned acks are taken too.
func (l *Link) openAck(msg []byte) (contract.Ack, *contract.AckError) {
	var a contract.Ack
	var err error
	if len(l.cfg.AckKeys) == 0 && l.cfg.AllowUnsigned {
		a, err = contract.DecodeUnsignedAck(msg, l.cfg.KioskID, l.cfg.BootEpoch)
	} else {
		a, err = contract.OpenAck(msg, l.cfg.AckKeys, l.cfg.KioskID, l.cfg.BootEpoch)
	}
	if err == nil {
		return a, nil
	}
	var aerr *contract.AckError
	if !errors.As(err, &aerr) {
		aerr = &contract.AckError{Code: contract.AckMalformed, Message: err.Error()}
	}
	return a, aerr
}

// refusedAck is one refused ack on its way to the kiosk.
type refusedAck struct {
	ack contract.Ack
	err *contract.AckError
}

// ackRefused counts a refused ack and hands it to the reporter without
// waiting: when the reporter is behind (a flood of forged acks), the report
// is dropped. It stays counted, and the kiosk journals only a few a minute
// anyway.
func (l *Link) ackRefused(reports chan<- refusedAck, a contract.Ack, err *contract.AckError) {
	l.acksRefused.Add(1)
	select {
	case reports <- refusedAck{ack: a, err: err}:
	default:
	}
}

// runAckRefusals tells the kiosk of refused acks, one at a time, until the
// session ends; the kiosk may take its time journaling one.
func (s *session) runAckRefusals(ctx context.Context) {
	for {
		select {
		case r := <-s.ackRefusals:
			s.l.kiosk.AckRefused(ctx, r.ack, r.err)
		case <-s.done:
			return
		}
	}
}

// drainAcks adds to ids whatever other acks are already waiting.
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

// acked takes platform-acked events out of the window at once and queues
// their ids for the recorder. They are gone from the window before the
// outbox has recorded them, so the fsync of one batch overlaps with
// publishing the next; they are kept aside until it has.
func (s *session) acked(ids []string) {
	s.l.acks.Add(uint64(len(ids)))
	for _, id := range ids {
		if f := s.inflight[id]; f != nil {
			s.recording[id] = f
			delete(s.inflight, id)
		}
	}
	s.toRecord = append(s.toRecord, ids...)
	s.handOver()
	s.l.setInFlight(len(s.inflight))
}

// handOver gives the queued ids to the recorder if it is idle: a burst of
// acks that came during one outbox write costs one more write.
func (s *session) handOver() {
	if s.recorderBusy || len(s.toRecord) == 0 {
		return
	}
	s.record <- s.toRecord // buffered: an idle recorder's slot is free
	s.toRecord = nil
	s.recorderBusy = true
}

// recorded ends the keeping aside of a batch. If the outbox could not record
// it, the events go back in flight: re-sent at AckTimeout, re-acked, retried.
func (s *session) recorded(r ackResult) {
	s.recorderBusy = false
	if r.err != nil {
		s.l.log.Error("cloudlink: record acks in outbox", "count", len(r.ids), "err", r.err)
	}
	for _, id := range r.ids {
		if f := s.recording[id]; f != nil && r.err != nil {
			s.inflight[id] = f
		}
		delete(s.recording, id)
	}
	s.handOver()
	s.l.setInFlight(len(s.inflight))
}

// runRecorder records acks in the outbox, one batch at a time, until the
// session ends.
func (s *session) runRecorder() {
	for {
		select {
		case ids := <-s.record:
			err := s.l.outbox.Ack(ids)
			select {
			case s.results <- ackResult{ids: ids, err: err}:
			case <-s.done:
				return
			}
		case <-s.done:
			return
		}
	}
}

// flushAcks records, once the recorder has stopped, the acks still queued,
// so that the next session does not send those events again.
func (s *session) flushAcks() {
	select {
	case ids := <-s.record: // handed over, not taken up
		s.toRecord = append(ids, s.toRecord...)
	default:
	}
	if len(s.toRecord) == 0 {
		return
	}
	if err := s.l.outbox.Ack(s.toRecord); err != nil {
		s.l.log.Error("cloudlink: record acks in outbox", "count", len(s.toRecord), "err", err)
	}
}
