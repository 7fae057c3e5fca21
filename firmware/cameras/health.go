package cameras

import (
	"time"

	"kioskd/cloudlink/contract"
	"kioskd/devices"
	"kioskd/kiosk/screen"
)

// A camera's health is known in one place, its cameraView (the state
// everyone is told, with the child's last report) beside its supervisor's
// procStatus. snapshot copies both under mu into a health; each form the
// outside sees is made from a health by one function: wireStatus for the
// platform (heartbeat, retained report, /api/cameras), consoleHealth for
// the guard console.

// health is one camera's health at one moment.
type health struct {
	id   string
	view cameraView
	proc procStatus
}

// snapshot returns every camera's health, in config order.
func (cs *Set) snapshot() []health {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	out := make([]health, len(cs.cams))
	for i, c := range cs.cams {
		out[i] = health{id: c.cfg.ID, view: *cs.views[c.cfg.ID], proc: c.proc.Status()}
	}
	return out
}

// wireStatus is a camera's health as the platform receives it.
func wireStatus(h health) contract.CameraStatus {
	v, ch := h.view, h.view.health
	return contract.CameraStatus{
		ID: h.id, State: v.state, Problem: v.problem, Since: v.since,
		Connected: ch.Connected && h.proc.Running, LastFrame: ch.LastFrame, FPS: ch.FPS,
		BitrateBps: ch.BitrateBps, GopMs: ch.GopMs, Codec: ch.Codec, Width: ch.Width, Height: ch.Height,
		Reconnects: ch.Reconnects, PrerollMs: ch.PrerollMs, PrerollBytes: ch.PrerollBytes,
		Restarts: h.proc.Restarts, LastExit: h.proc.LastExit, LastExitAt: h.proc.LastExitAt,
	}
}

// consoleHealth is a camera's health as the guard console shows it.
func consoleHealth(h health) screen.CameraHealth {
	v := h.view
	return screen.CameraHealth{
		ID: h.id, State: v.state, Problem: v.problem, Since: v.since, LastFrame: v.health.LastFrame,
		FPS: v.health.FPS, Width: v.health.Width, Height: v.health.Height,
	}
}

// Statuses returns every camera's health, for the heartbeat and the
// self-test; empty, not nil, without cameras. A nil Set has none.
func (cs *Set) Statuses() []contract.CameraStatus {
	out := []contract.CameraStatus{}
	if cs == nil {
		return out
	}
	for _, h := range cs.snapshot() {
		out = append(out, wireStatus(h))
	}
	return out
}

// Online lists the cameras online now (an update trial wants them online
// again after the update).
func (cs *Set) Online() []string {
	ids := []string{}
	for _, s := range cs.Statuses() {
		if s.State == string(devices.CameraOnline) {
			ids = append(ids, s.ID)
		}
	}
	return ids
}

// Report is the retained camera report: the statuses as they were at the
// last state change, so that it is republished on change only.
func (cs *Set) Report(kioskID string, epoch uint64) contract.CameraReport {
	st := cs.Statuses()
	r := contract.CameraReport{V: contract.SchemaVersion, Kiosk: kioskID, BootEpoch: epoch, Cameras: st}
	for i := range st {
		r.Cameras[i] = stable(st[i])
		if st[i].Since.After(r.Time) {
			r.Time = st[i].Since
		}
	}
	return r
}

// stable drops a status's fast-moving figures, kept in the heartbeat.
func stable(s contract.CameraStatus) contract.CameraStatus {
	s.LastFrame, s.FPS, s.BitrateBps, s.PrerollMs, s.PrerollBytes = time.Time{}, 0, 0, 0, 0
	return s
}

// ConsoleHealth is every camera's health as the guard console shows it.
func (cs *Set) ConsoleHealth() []screen.CameraHealth {
	hs := cs.snapshot()
	out := make([]screen.CameraHealth, len(hs))
	for i, h := range hs {
		out[i] = consoleHealth(h)
	}
	return out
}

// cameraAPIStatus is a camera in /api/cameras: its health, and its live
// relay's figures as its child last reported them (none while it is down).
type cameraAPIStatus struct {
	contract.CameraStatus
	Relay *devices.RelayStats `json:"relay,omitempty"`
}

// apiCameras is the body of GET /api/cameras.
func (cs *Set) apiCameras() map[string]any {
	hs := cs.snapshot()
	out := make([]cameraAPIStatus, len(hs))
	for i, h := range hs {
		out[i].CameraStatus = wireStatus(h)
		if h.proc.Running {
			out[i].Relay = h.view.health.Relay
		}
	}
	return map[string]any{"cameras": out, "relay": cs.live.status()}
}
