package console

import (
	"encoding/json"
	"errors"
	"net/http"
	"time"
)

// RolloutView is a rollout as the page and the API show it: its targets
// with their outcome, reply and the version their kiosk last reported.
type RolloutView struct {
	Rollout
	Targets []TargetView  `json:"targets"` // shadows Rollout.Targets
	Waves   int           `json:"waves"`
	Counts  RolloutCounts `json:"counts"`
}

// RolloutCounts sums a rollout's targets up.
type RolloutCounts struct {
	OK      int `json:"ok"`      // committed, passed or already up to date
	Failed  int `json:"failed"`  // settled, not well
	Running int `json:"running"` // sent, not settled
	Waiting int `json:"waiting"` // in a later wave
	Skipped int `json:"skipped"` // offline, or the rollout was stopped
}

// TargetView is one kiosk of a rollout.
type TargetView struct {
	Target
	Outcome
	Reply        string    `json:"reply,omitempty"` // the command's outcome: ok, pending, no_reply, send_failed, or an error code
	ReplyMessage string    `json:"reply_message,omitempty"`
	Version      string    `json:"version,omitempty"` // as the kiosk's last heartbeat says
	HeartbeatAt  time.Time `json:"heartbeat_at,omitzero"`
}

// recentRollouts is how many rollouts the view shows.
const recentRollouts = 10

// rolloutViews lists the latest rollouts, newest first; c.mu must be held.
func (c *Console) rolloutViews(now time.Time) []RolloutView {
	out := []RolloutView{}
	for _, r := range c.sortedRollouts() {
		if len(out) == recentRollouts {
			break
		}
		out = append(out, c.rolloutView(r, now))
	}
	return out
}

// rolloutView builds one rollout's view; c.mu must be held.
func (c *Console) rolloutView(r *Rollout, now time.Time) RolloutView {
	v := RolloutView{Rollout: *r, Waves: r.Waves(), Targets: make([]TargetView, 0, len(r.Targets))}
	v.Rollout.Targets = nil
	if r.Release != nil { // the view leaves c.mu: no pointer into the rollout
		rel := *r.Release
		v.Release = &rel
	}
	for _, t := range r.Targets {
		sent := c.commands[t.Command]
		tv := TargetView{Target: t, Outcome: t.result(r.Kind, sent, now)}
		if sent != nil {
			cv := commandView(*sent, now)
			tv.Reply, tv.ReplyMessage = cv.Outcome, cv.Message
		}
		if k := c.fleet[t.Kiosk]; k != nil && k.heartbeat != nil {
			tv.Version, tv.HeartbeatAt = k.heartbeat.Version, k.heartbeatAt
		}
		v.Counts.add(tv)
		v.Targets = append(v.Targets, tv)
	}
	return v
}

func (n *RolloutCounts) add(t TargetView) {
	switch {
	case t.OK:
		n.OK++
	case t.Result == "skipped":
		n.Skipped++
	case t.Settled:
		n.Failed++
	case t.Command == "":
		n.Waiting++
	default:
		n.Running++
	}
}

// Rollout returns one rollout's view.
func (c *Console) Rollout(id string) (RolloutView, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := c.rollouts[id]
	if r == nil {
		return RolloutView{}, false
	}
	return c.rolloutView(r, time.Now()), true
}

// registerRollouts adds the rollout API:
//
//	POST /api/rollouts                 RolloutRequest → 202 RolloutView
//	GET  /api/rollouts                 the latest, newest first
//	GET  /api/rollouts/{id}            one
//	POST /api/rollouts/{id}/continue   a halted rollout goes on with its next wave
//	POST /api/rollouts/{id}/stop       no more commands; those sent finish
func (c *Console) registerRollouts(mux *http.ServeMux) {
	mux.HandleFunc("POST /api/rollouts", c.postRollout)
	mux.HandleFunc("GET /api/rollouts", func(w http.ResponseWriter, r *http.Request) {
		c.mu.Lock()
		v := c.rolloutViews(time.Now())
		c.mu.Unlock()
		writeJSON(w, http.StatusOK, v)
	})
	mux.HandleFunc("GET /api/rollouts/{id}", func(w http.ResponseWriter, r *http.Request) {
		v, ok := c.Rollout(r.PathValue("id"))
		if !ok {
			writeJSON(w, http.StatusNotFound, map[string]string{"error": ErrNoRollout.Error()})
			return
		}
		writeJSON(w, http.StatusOK, v)
	})
	mux.HandleFunc("POST /api/rollouts/{id}/continue", func(w http.ResponseWriter, r *http.Request) {
		answerRollout(w, http.StatusOK)(c.ContinueRollout(r.PathValue("id")))
	})
	mux.HandleFunc("POST /api/rollouts/{id}/stop", func(w http.ResponseWriter, r *http.Request) {
		answerRollout(w, http.StatusOK)(c.StopRollout(r.PathValue("id")))
	})
}

func (c *Console) postRollout(w http.ResponseWriter, r *http.Request) {
	var req RolloutRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&req); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	answerRollout(w, http.StatusAccepted)(c.StartRollout(req))
}

// answerRollout writes a rollout, or the error with its status.
func answerRollout(w http.ResponseWriter, okCode int) func(RolloutView, error) {
	return func(v RolloutView, err error) {
		code := okCode
		switch {
		case err == nil:
			writeJSON(w, code, v)
			return
		case errors.Is(err, ErrBadRollout):
			code = http.StatusBadRequest
		case errors.Is(err, ErrNoRollout):
			code = http.StatusNotFound
		case errors.Is(err, ErrRolloutState):
			code = http.StatusConflict
		default:
			code = http.StatusInternalServerError
		}
		writeJSON(w, code, map[string]string{"error": err.Error()})
	}
}
