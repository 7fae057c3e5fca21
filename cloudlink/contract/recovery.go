package contract

import "time"

// What a kiosk says about itself, in the heartbeat's status and in GET
// /healthz: ok; degraded, when the alarm path works (presses are journaled
// and relayed) but a condition waits for a person (a journal recovery not
// yet acknowledged); unhealthy, when the alarm path does not work.
const (
	StatusOK        = "ok"
	StatusDegraded  = "degraded"
	StatusUnhealthy = "unhealthy"
)

// CmdAcknowledgeRecovery: a person at the platform has seen the kiosk's
// journal recovery; the kiosk stops saying degraded.
const CmdAcknowledgeRecovery = "acknowledge_recovery" // AcknowledgeRecoveryArgs

// AcknowledgeRecoveryArgs: who acknowledges the journal recovery, and what
// they found. Refused as rejected when no recovery waits.
type AcknowledgeRecoveryArgs struct {
	By   string `json:"by"`
	Note string `json:"note,omitempty"`
}

// JournalRecovery is a journal recovery that no person has acknowledged:
// the journal could not be opened, the damaged file was kept aside and what
// could be read of it was salvaged into a new one.
type JournalRecovery struct {
	SetAside string    `json:"set_aside"` // the damaged file, kept on the kiosk
	Since    time.Time `json:"since"`     // when the kiosk found the damage
	Salvage  *Salvage  `json:"salvage,omitempty"`
}

// Salvage counts what was rescued from the damaged journal.
type Salvage struct {
	Events        int    `json:"events"`         // events copied into the new journal, with their ids
	Requeued      int    `json:"requeued"`       // of them, unacked and back in the outbox
	OpenIncidents int    `json:"open_incidents"` // open incidents brought back
	SeqFrom       uint64 `json:"seq_from"`       // the new journal's seq continues above this
	BootEpoch     uint64 `json:"boot_epoch"`     // the boot epoch continued from
	Reason        string `json:"reason,omitempty"`
}
