package cloudlink

import (
	"encoding/json"
	"fmt"

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

// onAck is paho's handler for the ack topic: decode and hand over.
func (s *session) onAck(_ mqtt.Client, m mqtt.Message) {
	ids, err := decodeAck(m.Payload())
	if err != nil {
		s.l.log.Warn("cloudlink: ignoring malformed ack", "err", err)
		return
	}
	s.handAcks(ids) // never waits: see inbox.go
}

// decodeAck returns the event ids of an ack payload.
func decodeAck(payload []byte) ([]string, error) {
	var a contract.Ack
	if err := json.Unmarshal(payload, &a); err != nil {
		return nil, fmt.Errorf("not a JSON ack: %w", err)
	}
	if a.V != contract.SchemaVersion {
		return nil, fmt.Errorf("schema version %d, want %d", a.V, contract.SchemaVersion)
	}
	if len(a.IDs) == 0 {
		return nil, fmt.Errorf("no ids")
	}
	return a.IDs, nil
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
