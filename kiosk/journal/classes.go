package journal

import (
	"bytes"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// admit returns evs without the telemetry that will not be stored: the
// earliest of a batch holding more than the budget, and all of it when
// storing it would eat into the reserve. Refused events are counted as
// dropped; critical events always pass.
func (j *Journal) admit(evs []Event) []Event {
	tel, need := 0, int64(0)
	for _, e := range evs {
		if e.Telemetry {
			tel++
			need += footprint(e)
		}
	}
	if tel == 0 {
		return evs
	}
	skip := tel - j.opts.TelemetryBudget // the batch's earliest beyond the budget
	room := j.roomForTelemetry(need)
	if !room && j.pruned() {
		room = j.roomForTelemetry(need)
	}
	out := make([]Event, 0, len(evs))
	seen, refused := 0, 0
	for _, e := range evs {
		if e.Telemetry {
			seen++
			if !room || seen <= skip {
				refused++
				continue
			}
		}
		out = append(out, e)
	}
	j.unsaved.Add(uint64(refused))
	return out
}

// footprint overestimates the bytes one event takes in the file: its JSON
// with the envelope, and its id, outbox and index entries, on pages that
// may be half full.
func footprint(e Event) int64 {
	return 2 * int64(len(e.Data)+len(e.Type)+2*len(e.Incident)+len(e.Kiosk)+320)
}

// dropOldestTelemetry forgets up to n pending telemetry events with seq
// before limit, oldest first, and returns how many it dropped.
func dropOldestTelemetry(b buckets, n uint64, limit uint64) (uint64, error) {
	var dropped uint64
	end := seqKey(limit)
	for dropped < n {
		k, _ := b.telemetry.Cursor().First()
		if k == nil || bytes.Compare(k, end) >= 0 {
			break
		}
		k = bytes.Clone(k)
		ev, err := decodeEvent(b.events, k)
		if err != nil {
			return dropped, err
		}
		if !ev.Telemetry {
			return dropped, fmt.Errorf("%w: critical event %d in the telemetry index", ErrCorrupt, ev.Seq)
		}
		if err := forget(b, k, ev); err != nil {
			return dropped, err
		}
		dropped++
	}
	return dropped, nil
}

// forget deletes a telemetry event and all its entries, so that its space
// is reused: telemetry is not history. Never call it for a critical event.
func forget(b buckets, k []byte, ev Event) error {
	for _, g := range []*bolt.Bucket{b.outbox, b.telemetry, b.urgent} {
		if err := g.Delete(k); err != nil {
			return err
		}
	}
	return deleteHistory(b, k, ev)
}
