package console

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"kioskd/cloudlink/contract"
)

// Fleet operations: one self-test or one update sent to many kiosks, in
// waves. Each kiosk gets its own signed command (Send's counter and
// signature); its part is followed through the reply and the update.* or
// self_test.* events it sends, as they are stored. A wave goes out only
// when every kiosk of the one before ended well; otherwise the rollout
// halts until the operator continues or stops it. rollout_drive.go sends
// and stores; rollout_http.go is the API.

// Rollout states.
const (
	RolloutRunning = "running"
	RolloutHalted  = "halted"  // a kiosk of the wave failed, and waves are left: continue or stop
	RolloutStopped = "stopped" // stopped by the operator; kiosks not yet sent to stay so
	RolloutDone    = "done"
)

// How long a kiosk may take from its command to the end of its part
// before it counts as failed (timeout). An update's trial alone is 5 min
// by default, on top of the download.
const (
	updateDeadline   = 30 * time.Minute
	selfTestDeadline = 5 * time.Minute
)

// maxSteps bounds the events kept per kiosk and rollout.
const maxSteps = 20

// Rollout is one fleet operation.
type Rollout struct {
	ID        string               `json:"id"`
	Kind      string               `json:"kind"`              // self_test or update
	Release   *contract.UpdateArgs `json:"release,omitempty"` // update: what every kiosk is sent
	Reason    string               `json:"reason,omitempty"`  // self_test: for the record
	By        string               `json:"by,omitempty"`      // the operator
	WaveSize  int                  `json:"wave_size"`         // kiosks per wave; 0: all in one
	Wave      int                  `json:"wave"`              // the wave under way, from 0
	State     string               `json:"state"`
	StartedAt time.Time            `json:"started_at"`
	Targets   []Target             `json:"targets"`

	dirty bool // changed since it was last stored
}

// Target is one kiosk of a rollout.
type Target struct {
	Kiosk   string    `json:"kiosk"`
	Wave    int       `json:"wave"`
	Command string    `json:"command,omitempty"` // the id of its command, once sent
	SentAt  time.Time `json:"sent_at,omitzero"`
	Skipped string    `json:"skipped,omitempty"` // not sent: offline, up_to_date, stopped
	Steps   []Step    `json:"steps,omitempty"`
}

// Step is one update.* or self_test.* event of a target's kiosk.
type Step struct {
	Type    string    `json:"type"`
	At      time.Time `json:"at"` // when the station stored it
	Version string    `json:"version,omitempty"`
	Reason  string    `json:"reason,omitempty"`
	Detail  string    `json:"detail,omitempty"`
}

// RolloutRequest starts a rollout: the body of POST /api/rollouts.
type RolloutRequest struct {
	Kind           string               `json:"kind"`              // self_test or update
	Kiosks         []string             `json:"kiosks,omitempty"`  // in this order; or
	All            bool                 `json:"all,omitempty"`     // every kiosk the station has heard of
	Release        *contract.UpdateArgs `json:"release,omitempty"` // update: as hack/release prints it
	AllowDowngrade bool                 `json:"allow_downgrade,omitempty"`
	WaveSize       int                  `json:"wave_size,omitempty"` // 0: every kiosk at once
	Reason         string               `json:"reason,omitempty"`
	By             string               `json:"by,omitempty"`
}

var sha256Hex = regexp.MustCompile(`^[0-9a-f]{64}$`)

// checkRelease checks what the station can check of a release: its shape.
// The signature is the kiosks' to verify, with keys the station never has.
func checkRelease(a *contract.UpdateArgs) error {
	if a == nil {
		return errors.New("an update needs a release (the JSON hack/release prints)")
	}
	u, err := url.Parse(a.URL)
	sig, sigErr := base64.StdEncoding.DecodeString(a.Signature)
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return fmt.Errorf("release url %q: want http:// or https://", a.URL)
	case a.Version == "" || a.Arch == "" || a.Size <= 0:
		return errors.New("release: version, arch and size are required")
	case !sha256Hex.MatchString(a.SHA256):
		return errors.New("release sha256: want 64 lower-case hex digits")
	case sigErr != nil || len(sig) != ed25519.SignatureSize:
		return errors.New("release signature: want the base64 of a 64-byte Ed25519 signature")
	}
	return nil
}

// newRollout checks a request and builds its rollout; known lists the
// kiosks the station has heard of, for All.
func newRollout(req RolloutRequest, known []string, now time.Time) (*Rollout, error) {
	r := &Rollout{ID: "ro-" + strings.TrimPrefix(newCommandID(), "st-"), Kind: req.Kind, Reason: req.Reason,
		By: strings.TrimSpace(req.By), WaveSize: max(req.WaveSize, 0), State: RolloutRunning, StartedAt: now, dirty: true}
	switch req.Kind {
	case contract.CmdSelfTest:
	case contract.CmdUpdate:
		if err := checkRelease(req.Release); err != nil {
			return nil, err
		}
		rel := *req.Release
		rel.AllowDowngrade = rel.AllowDowngrade || req.AllowDowngrade
		r.Release = &rel
	default:
		return nil, fmt.Errorf("kind %q: want %s or %s", req.Kind, contract.CmdSelfTest, contract.CmdUpdate)
	}
	kiosks := req.Kiosks
	if req.All {
		kiosks = known
	}
	if len(kiosks) == 0 {
		return nil, errors.New("no kiosks: name them, or ask for all")
	}
	seen := map[string]bool{}
	for _, k := range kiosks {
		if !contract.ValidKioskID(k) || seen[k] {
			return nil, fmt.Errorf("kiosk %q: not a kiosk id, or named twice", k)
		}
		seen[k] = true
		r.Targets = append(r.Targets, Target{Kiosk: k, Wave: r.waveOf(len(r.Targets))})
	}
	return r, nil
}

func (r *Rollout) waveOf(i int) int {
	if r.WaveSize == 0 {
		return 0
	}
	return i / r.WaveSize
}

// Waves is how many waves the rollout has.
func (r *Rollout) Waves() int { return r.waveOf(len(r.Targets)-1) + 1 }

// deadlineOf is how long a kiosk's part of a rollout of kind may take.
func deadlineOf(kind string) time.Duration {
	if kind == contract.CmdUpdate {
		return updateDeadline
	}
	return selfTestDeadline
}

// eventStep is what a rollout keeps of an event, with the command it
// answers (update.*) or the trigger of the self-test (self_test.*).
type eventStep struct {
	Step
	command, trigger string
}

func stepOf(ev contract.Event, at time.Time) (eventStep, bool) {
	if !strings.HasPrefix(ev.Type, "update.") && !strings.HasPrefix(ev.Type, "self_test.") {
		return eventStep{}, false
	}
	var d struct {
		Command  string             `json:"command"`
		Version  string             `json:"version"`
		Reason   string             `json:"reason"`
		Detail   string             `json:"detail"`
		SelfTest *contract.SelfTest `json:"self_test"`
	}
	_ = json.Unmarshal(ev.Data, &d) // a field it lacks stays empty
	s := eventStep{Step: Step{Type: ev.Type, At: at, Version: d.Version, Reason: d.Reason, Detail: d.Detail}, command: d.Command}
	if d.SelfTest != nil && strings.HasPrefix(ev.Type, "self_test.") {
		s.trigger, s.Version, s.Detail = d.SelfTest.Trigger, d.SelfTest.Version, selfTestSummary(*d.SelfTest)
	}
	return s, true
}

// selfTestSummary says in a line how a self-test went.
func selfTestSummary(st contract.SelfTest) string {
	var parts []string
	for _, ch := range st.Checks {
		parts = append(parts, ch.Name+" "+ch.Result)
	}
	line := strings.Join(parts, ", ")
	if st.Note != "" {
		line = st.Note + " (" + line + ")"
	}
	return line
}

// observe files an event with the targets it concerns: an update event
// with the target whose command it names, a commanded self-test's result
// with each target of its kiosk sent a self_test before and still waiting.
// c.mu must be held.
func (c *Console) observe(kiosk string, ev contract.Event, at time.Time) {
	s, ok := stepOf(ev, at)
	if !ok {
		return
	}
	for _, r := range c.rollouts {
		for i := range r.Targets {
			t := &r.Targets[i]
			if t.Kiosk != kiosk || t.Command == "" || len(t.Steps) >= maxSteps {
				continue
			}
			update := r.Kind == contract.CmdUpdate && s.command == t.Command
			selfTest := r.Kind == contract.CmdSelfTest && s.trigger == "command" && !at.Before(t.SentAt) && !t.hasFinal(r.Kind)
			if update || selfTest {
				t.Steps = append(t.Steps, s.Step)
				r.dirty = true
				c.pokeRollouts()
			}
		}
	}
}

// finalSteps are the events that end a kiosk's part, and whether well.
var finalSteps = map[string]map[string]bool{
	contract.CmdUpdate:   {"update.committed": true, "update.rejected": false, "update.rolled_back": false},
	contract.CmdSelfTest: {"self_test.passed": true, "self_test.failed": false},
}

// final returns the last event that ended the target's part, if any.
func (t Target) final(kind string) (Step, bool) {
	for i := len(t.Steps) - 1; i >= 0; i-- {
		if _, ok := finalSteps[kind][t.Steps[i].Type]; ok {
			return t.Steps[i], true
		}
	}
	return Step{}, false
}

func (t Target) hasFinal(kind string) bool { _, ok := t.final(kind); return ok }

// Outcome is where a target stands, derived from its steps and its
// command's record each time it is asked.
type Outcome struct {
	Result  string `json:"result"`  // see result
	Settled bool   `json:"settled"` // its part is over
	OK      bool   `json:"ok"`      // it ended well (committed, passed, up_to_date)
	Reason  string `json:"reason,omitempty"`
	Detail  string `json:"detail,omitempty"`
}

// result says how a target stands: waiting (not sent yet), skipped
// (offline, stopped), up_to_date, sending, sent (no event yet), the last
// step's name (downloading, verified, deferred, installed), or, settled:
// committed, passed, rejected, rolled_back, failed, send_failed, no_reply,
// timeout, or the error code of the kiosk's reply.
func (t Target) result(kind string, sent *Sent, now time.Time) Outcome {
	switch {
	case t.Skipped == "up_to_date":
		return Outcome{Result: t.Skipped, Settled: true, OK: true}
	case t.Skipped != "":
		return Outcome{Result: "skipped", Settled: true, Reason: t.Skipped}
	case t.Command == "":
		return Outcome{Result: "waiting"}
	}
	if s, ok := t.final(kind); ok {
		return Outcome{Result: shortType(s.Type), Settled: true, OK: finalSteps[kind][s.Type], Reason: s.Reason, Detail: s.Detail}
	}
	if sent != nil {
		switch o := sent.Outcome(now); o {
		case "ok", "pending":
		case "send_failed":
			return Outcome{Result: o, Settled: true, Detail: sent.SendError}
		case "no_reply":
			if len(t.Steps) == 0 { // a step shows the command arrived: the reply was lost
				return Outcome{Result: o, Settled: true, Detail: "no reply within " + replyWait.String()}
			}
		default:
			detail := ""
			if sent.Reply != nil && sent.Reply.Error != nil {
				detail = sent.Reply.Error.Message
			}
			return Outcome{Result: o, Settled: true, Detail: detail}
		}
	}
	if now.Sub(t.SentAt) > deadlineOf(kind) {
		return Outcome{Result: "timeout", Settled: true, Detail: "no end within " + deadlineOf(kind).String()}
	}
	switch {
	case len(t.Steps) > 0:
		last := t.Steps[len(t.Steps)-1]
		return Outcome{Result: shortType(last.Type), Reason: last.Reason, Detail: last.Detail}
	case sent == nil:
		return Outcome{Result: "sending"}
	}
	return Outcome{Result: "sent"}
}

// shortType is an event type without its family: update.committed → committed.
func shortType(typ string) string {
	_, after, _ := strings.Cut(typ, ".")
	return after
}

// knownKiosks lists the kiosks the station has heard of; c.mu must be held.
func (c *Console) knownKiosks() []string {
	return slices.Sorted(maps.Keys(c.fleet))
}
