// Package contract is the one place that defines what crosses the wire between
// a kiosk and the police platform: topics, the event envelope, acks, commands
// and their replies, availability and the open-incident state. Within v1 fields
// are only ever added; a breaking change gets a new topic root.
//
// The same contract, for platform vendors, is the AsyncAPI 3.0 document
// asyncapi.json (see AsyncAPI) and the guide doc.md beside this file; tests
// keep the document and these types in step.
package contract

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// SchemaVersion is carried in every payload as "v".
const SchemaVersion = 1

// DefaultRoot is the topic root template; {kiosk_id} is replaced by the kiosk id.
const DefaultRoot = "gongzhi/v1/{kiosk_id}/"

var kioskIDPattern = regexp.MustCompile(`^[a-z0-9-]{1,64}$`)

// ValidKioskID reports whether id is safe to put in a topic and a broker ACL:
// lower-case letters, digits and '-' only.
func ValidKioskID(id string) bool { return kioskIDPattern.MatchString(id) }

// Topics names every topic of one kiosk.
type Topics struct{ root string }

// NewTopics expands a root template such as DefaultRoot for one kiosk.
func NewTopics(rootTemplate, kioskID string) (Topics, error) {
	if !ValidKioskID(kioskID) {
		return Topics{}, fmt.Errorf("kiosk id %q: use 1-64 of a-z, 0-9 and '-'", kioskID)
	}
	if !strings.Contains(rootTemplate, "{kiosk_id}") {
		return Topics{}, fmt.Errorf("topic root %q: must contain {kiosk_id}", rootTemplate)
	}
	if strings.ContainsAny(rootTemplate, "#+") {
		return Topics{}, fmt.Errorf("topic root %q: must not contain MQTT wildcards", rootTemplate)
	}
	root := strings.ReplaceAll(rootTemplate, "{kiosk_id}", kioskID)
	if !strings.HasSuffix(root, "/") {
		root += "/"
	}
	return Topics{root: root}, nil
}

func (t Topics) Root() string { return t.root }

// Status: kiosk → platform, retained, QoS 1. Availability; also the last will.
func (t Topics) Status() string { return t.root + "status" }

// Events: kiosk → platform, QoS 1. One Event per message; re-sent until
// acked. The backlog goes in seq order, new alarms overtake it: order by seq,
// not by arrival (cloudlink/GUARANTEES.md).
func (t Topics) Events() string { return t.root + "events" }

// Acks: platform → kiosk, QoS 1. A SignedAck naming event ids the platform stored.
func (t Topics) Acks() string { return t.root + "ack" }

// Commands: platform → kiosk, QoS 1. One Command per message.
func (t Topics) Commands() string { return t.root + "cmd" }

// Replies: kiosk → platform, QoS 1. One Reply per command received.
func (t Topics) Replies() string { return t.root + "cmd/reply" }

// State: kiosk → platform, retained, QoS 1. The open incidents, republished on
// every change and on every (re)connect.
func (t Topics) State() string { return t.root + "state" }

// Heartbeat: kiosk → platform, retained, QoS 1. The kiosk's vital signs,
// every heartbeat period and on every (re)connect.
func (t Topics) Heartbeat() string { return t.root + "heartbeat" }

// Event is the envelope of everything the kiosk journals and ships. (Kiosk,
// BootEpoch, Seq) orders events; ID is unique and is what the platform acks
// and dedupes by. Seq is gap-free per kiosk journal.
type Event struct {
	V           int             `json:"v"`
	ID          string          `json:"id"`
	Kiosk       string          `json:"kiosk"`
	BootEpoch   uint64          `json:"boot_epoch"`
	Seq         uint64          `json:"seq"`
	Type        string          `json:"type"`
	Incident    string          `json:"incident,omitempty"`
	Time        time.Time       `json:"time"`
	ClockSynced bool            `json:"clock_synced"`
	Data        json.RawMessage `json:"data,omitempty"`
}

// Ack tells the kiosk which event ids the platform has durably stored. It
// travels signed, inside a SignedAck (see ack.go), and counts only for the
// kiosk and boot it names.
type Ack struct {
	V         int      `json:"v"`
	Type      string   `json:"type"`       // always AckType: an ack is never taken for a command
	Kiosk     string   `json:"kiosk"`      // the kiosk whose events these are
	BootEpoch uint64   `json:"boot_epoch"` // the kiosk's current boot, from its latest status or heartbeat
	IDs       []string `json:"ids"`
}

// Availability states.
const (
	Online  = "online"
	Offline = "offline" // the broker's last will: the kiosk vanished
	Stopped = "stopped" // the kiosk shut down on purpose
)

// Availability is the retained status message.
type Availability struct {
	V         int       `json:"v"`
	Kiosk     string    `json:"kiosk"`
	State     string    `json:"state"`
	BootEpoch uint64    `json:"boot_epoch"`
	Time      time.Time `json:"time"`
	Version   string    `json:"version,omitempty"`
}

// Command names.
const (
	CmdAccept   = "accept"   // AcceptArgs
	CmdMessage  = "message"  // MessageArgs
	CmdEscalate = "escalate" // EscalateArgs
	CmdClose    = "close"    // CloseArgs
)

// Command is one order from the platform, addressed to one kiosk. It travels
// signed, inside a SignedCommand (see sign.go).
type Command struct {
	V     int             `json:"v"`
	ID    string          `json:"id"`
	Kiosk string          `json:"kiosk"`
	Name  string          `json:"name"`
	Args  json.RawMessage `json:"args,omitempty"`
	// Counter must be above zero and never used before for this kiosk: a
	// replayed command is refused. The kiosk remembers the last 64 counters
	// it accepted and refuses any counter below the oldest of them, so
	// commands may arrive out of counter order. The platform's clock in Unix
	// nanoseconds, or a per-kiosk counter, will do. See doc.md.
	Counter uint64 `json:"counter"`
	// Expires, if set, is when the command goes stale; enforced only while
	// the kiosk's clock is synchronised.
	Expires time.Time `json:"expires,omitzero"`
}

// AcceptArgs: someone will call the citizen back by CallbackBy.
type AcceptArgs struct {
	Incident   string    `json:"incident"`
	Responder  string    `json:"responder"`
	CallbackBy time.Time `json:"callback_by,omitzero"`
}

// MessageArgs: a line of text for the citizen screen.
type MessageArgs struct {
	Incident string `json:"incident"`
	From     string `json:"from"`
	Text     string `json:"text"`
}

// EscalateArgs: the matter goes to the police station.
type EscalateArgs struct {
	Incident string `json:"incident"`
	By       string `json:"by"`
	Reason   string `json:"reason"`
}

// CloseArgs: the matter is closed with an outcome.
type CloseArgs struct {
	Incident string `json:"incident"`
	By       string `json:"by"`
	Outcome  string `json:"outcome"`
}

// Error codes in a Reply.
const (
	ErrMalformed      = "malformed"       // not JSON, or a required field missing
	ErrUnknownCommand = "unknown_command" // Name is not one of the Cmd names
	ErrWrongKiosk     = "wrong_kiosk"     // Kiosk is not this kiosk
	ErrBadArgs        = "bad_args"        // Args do not fit the command
	ErrNotFound       = "not_found"       // no such incident
	ErrRejected       = "rejected"        // the incident's state does not allow it
	ErrInternal       = "internal"        // the kiosk could not journal it; retry
	ErrBadSignature   = "bad_signature"   // no configured key verifies the signature
	ErrReplayed       = "replayed"        // Counter was spent: accepted before for another command, or below the replay window
	ErrExpired        = "expired"         // Expires has passed on the kiosk's synced clock
	ErrDuplicate      = "duplicate"       // this command (id and counter) was accepted before; its reply is not known
	ErrBusy           = "busy"            // the kiosk's command queue was full: not applied, counter not spent; re-send
)

// Reply answers one Command. OK means the change is journaled.
type Reply struct {
	V       int         `json:"v"`
	Command string      `json:"command"` // the Command's ID
	Kiosk   string      `json:"kiosk"`
	OK      bool        `json:"ok"`
	Error   *ReplyError `json:"error,omitempty"`
	// Result is what a command that asks for something returns, when ok:
	// clip_link's ClipLink. Other commands have none.
	Result json.RawMessage `json:"result,omitempty"`
}

type ReplyError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// State is the retained snapshot of the kiosk's open incidents.
type State struct {
	V         int        `json:"v"`
	Kiosk     string     `json:"kiosk"`
	BootEpoch uint64     `json:"boot_epoch"`
	Time      time.Time  `json:"time"`
	Incidents []Incident `json:"incidents"`
}

// Incident is one open matter as the platform sees it.
type Incident struct {
	ID           string    `json:"id"`
	Request      string    `json:"request"` // police, community, lawyer, market, labour, tamper
	Status       string    `json:"status"`  // registered, delivered, accepted, handled_on_site, escalated, cancelled
	Source       string    `json:"source"`  // button:NAME, screen, tamper
	Urgency      int       `json:"urgency"` // 0 normal, 1 raised (repeat press, missed deadline), 2 urgent
	Delivered    bool      `json:"delivered"`
	Test         bool      `json:"test,omitempty"`
	Presses      int       `json:"presses"`
	RegisteredAt time.Time `json:"registered_at"`
	CallbackDue  time.Time `json:"callback_due"`
	CloseDue     time.Time `json:"close_due"`
	Overdue      []string  `json:"overdue,omitempty"` // "callback", "close"
	Responder    string    `json:"responder,omitempty"`
	Outcome      string    `json:"outcome,omitempty"`
}

// Heartbeat lets the platform see a sick kiosk before a citizen does.
type Heartbeat struct {
	V                int            `json:"v"`
	Kiosk            string         `json:"kiosk"`
	BootEpoch        uint64         `json:"boot_epoch"`
	Time             time.Time      `json:"time"`
	ClockSynced      bool           `json:"clock_synced"`
	UptimeSeconds    int64          `json:"uptime_s"`
	Version          string         `json:"version,omitempty"`
	AlarmPathHealthy bool           `json:"alarm_path_healthy"`
	AlarmPathProblem string         `json:"alarm_path_problem,omitempty"`
	OutboxDepth      int            `json:"outbox_depth"`                // events not yet acked by the platform
	OutboxOldest     time.Time      `json:"outbox_oldest,omitzero"`      // the oldest of them
	TelemetryDropped uint64         `json:"telemetry_dropped"`           // telemetry events dropped for space, ever
	AcksRefused      uint64         `json:"acks_refused"`                // acks refused (unsigned, bad signature, wrong kiosk or boot...) in this boot
	DiskFreeBytes    int64          `json:"disk_free_bytes"`             // on the state directory's filesystem
	JournalBytes     int64          `json:"journal_bytes"`               // the journal file's size
	JournalMaxBytes  int64          `json:"journal_max_bytes,omitempty"` // its cap (0: none)
	OpenIncidents    int            `json:"open_incidents"`
	Faults           []string       `json:"faults"`
	Cameras          []CameraStatus `json:"cameras"`                  // empty until cameras are configured
	LastSelfTest     *SelfTest      `json:"last_self_test,omitempty"` // nil until one has run
	// Status sums the above up: ok, degraded or unhealthy (see StatusOK).
	Status          string           `json:"status"`
	JournalRecovery *JournalRecovery `json:"journal_recovery,omitempty"` // nil unless one waits for a person
}

// CameraStatus is one camera's honest health: connected with no frame for
// a few seconds is no_video, never online.
type CameraStatus struct {
	ID           string    `json:"id"`
	State        string    `json:"state"` // online, no_video, offline, config_fault
	Problem      string    `json:"problem,omitempty"`
	Since        time.Time `json:"since,omitzero"` // when state last changed
	Connected    bool      `json:"connected"`
	LastFrame    time.Time `json:"last_frame,omitzero"`
	FPS          float64   `json:"fps,omitempty"`
	BitrateBps   int64     `json:"bitrate_bps,omitempty"`
	GopMs        int64     `json:"gop_ms,omitempty"`
	Codec        string    `json:"codec,omitempty"` // h264, h265
	Width        int       `json:"width,omitempty"`
	Height       int       `json:"height,omitempty"`
	Reconnects   int       `json:"reconnects"`              // RTSP sessions after the first, this process
	PrerollMs    int64     `json:"preroll_ms,omitempty"`    // video held before "now"
	PrerollBytes int64     `json:"preroll_bytes,omitempty"` // raw bytes held for it
	Restarts     int       `json:"restarts"`                // camera process restarts since kioskd started
	LastExit     string    `json:"last_exit,omitempty"`     // why the camera process last ended
	LastExitAt   time.Time `json:"last_exit_at,omitzero"`
}

// SelfTest: see update.go.
