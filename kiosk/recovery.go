package kiosk

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"kioskd/kiosk/journal"
)

// The journal recovery condition. When the journal could not be opened at
// start, it was set aside and what could be read of it salvaged into a new
// one; the post works on, but its record may have lost something, so the
// kiosk says "degraded" until a person (a guard at the console, or station
// police by command) acknowledges the recovery.
//
// The condition is journaled state, not memory: Step writes it as a
// snapshot in the journal's projection under RecoverySnapshotID, open while
// it waits, and Load reads it back, so a restart does not forget it. The
// acknowledged snapshot stays in the file, closed, for the record.

// Event type and limits of the acknowledgement.
const (
	EvRecoveryAcknowledged = "journal.recovery_acknowledged"
	// RecoverySnapshotID names the condition's snapshot; incident ids never
	// contain a colon.
	RecoverySnapshotID = "kiosk:journal_recovery"
)

// Salvage is what the journal rescued from the damaged file. It is nil
// while the journal does not report it.
type Salvage struct {
	Events        int    `json:"events"`         // events copied into the new journal
	Requeued      int    `json:"requeued"`       // of them, unacked and back in the outbox
	OpenIncidents int    `json:"open_incidents"` // open incidents brought back
	SeqFrom       uint64 `json:"seq_from"`       // the new journal's seq continues above this
	BootEpoch     uint64 `json:"boot_epoch"`     // the boot epoch continued from
	Reason        string `json:"reason,omitempty"`
}

// Recovery is one journal recovery: waiting for a person while
// AcknowledgedAt is zero.
type Recovery struct {
	SetAside       string    `json:"set_aside"` // where the damaged file was kept
	Since          time.Time `json:"since"`     // when this kiosk found it
	Salvage        *Salvage  `json:"salvage,omitempty"`
	AcknowledgedBy string    `json:"acknowledged_by,omitempty"`
	AcknowledgedAt time.Time `json:"acknowledged_at,omitzero"`
	Note           string    `json:"note,omitempty"`
}

// AcknowledgeRecovery is a person saying they have seen the journal
// recovery; it ends the degraded state.
type AcknowledgeRecovery struct{ By, Note string }

func (AcknowledgeRecovery) isInput() {}

// bootRecovery is the one place that reads, at start, whether the journal
// was recovered and what it salvaged. A journal found missing while its
// high-water mark remained is a recovery too: a person must know that the
// file was lost, though nothing was set aside.
func bootRecovery(j *journal.Journal) Boot {
	s := j.Salvaged()
	if s.Reason == "" {
		return Boot{}
	}
	return Boot{Recovered: j.Recovered(), Salvage: &Salvage{
		Events: s.Events, Requeued: s.Requeued, OpenIncidents: s.OpenIncidents,
		SeqFrom: s.SeqFrom, BootEpoch: s.BootEpoch, Reason: s.Reason,
	}}
}

// recovered starts the degraded state at boot. A second recovery before the
// first was acknowledged replaces it: the newer file set aside is the one
// a person must look at, and the older one is named in the journal.
func (st *step) recovered(b Boot) {
	st.fx.Records = append(st.fx.Records, Record{Type: EvJournalRecovered, Data: map[string]any{"set_aside": b.Recovered, "salvage": b.Salvage}})
	st.raiseFault(faultJournalAside, recoveryDetail(b.Recovered))
	r := &Recovery{SetAside: b.Recovered, Since: st.now, Salvage: b.Salvage}
	st.s.Recovery, st.fx.Recovery = r, r
}

func recoveryDetail(aside string) string {
	if aside == "" {
		return "journal file was missing; a new one continues above its high-water mark"
	}
	return "journal was damaged; what could be read was salvaged, the file set aside at " + aside
}

func (st *step) acknowledgeRecovery(a AcknowledgeRecovery) error {
	if st.s.Recovery == nil {
		return fmt.Errorf("%w: no journal recovery waits to be acknowledged", ErrRejected)
	}
	by, note := strings.TrimSpace(a.By), strings.TrimSpace(a.Note)
	switch {
	case by == "":
		return fmt.Errorf("%w: say who acknowledges (by)", ErrBadInput)
	}
	if err := errors.Join(NameLimit.Check("by", by, true), NoteLimit.Check("note", note, false)); err != nil {
		return fmt.Errorf("%w: %w", ErrBadInput, err)
	}
	r := *st.s.Recovery
	r.AcknowledgedBy, r.AcknowledgedAt, r.Note = by, st.now, note
	st.s.Recovery, st.fx.Recovery = nil, &r
	st.fx.Records = append(st.fx.Records, Record{Type: EvRecoveryAcknowledged, Data: map[string]any{
		"by": by, "note": note, "set_aside": r.SetAside, "since": r.Since,
	}})
	st.clearFault(faultJournalAside)
	return nil
}

// recoverySnapshot is the condition as the journal keeps it.
func recoverySnapshot(r *Recovery) (journal.Snapshot, error) {
	data, err := json.Marshal(r)
	if err != nil {
		return journal.Snapshot{}, fmt.Errorf("encode journal recovery: %w", err)
	}
	return journal.Snapshot{ID: RecoverySnapshotID, Open: r.AcknowledgedAt.IsZero(), Data: data}, nil
}

// loadRecovery puts a waiting recovery read from the journal back into s,
// with its fault.
func loadRecovery(s *State, snap journal.Snapshot) error {
	r := new(Recovery)
	if err := json.Unmarshal(snap.Data, r); err != nil {
		return fmt.Errorf("load journal recovery: %w", err)
	}
	s.Recovery = r
	s.Faults[faultJournalAside] = Fault{Key: faultJournalAside, Detail: recoveryDetail(r.SetAside), Since: r.Since}
	return nil
}
