package console

import (
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"kioskd/cloudlink/contract"
)

// staleHeartbeat: a heartbeat older than this is shown as late. The kiosks'
// default period is one minute.
const staleHeartbeat = 3 * time.Minute

// View is everything the page shows, also served as JSON at /api/view.
type View struct {
	Now       time.Time      `json:"now"`
	Connected bool           `json:"connected"`
	Group     string         `json:"group"`
	Uploads   bool           `json:"uploads"` // this station receives clip uploads at /uploads/
	Counts    counts         `json:"counts"`
	Kiosks    []KioskView    `json:"kiosks"`
	Incidents []IncidentView `json:"incidents"`
	Gaps      []Gap          `json:"gaps"`
	Recent    []EventView    `json:"recent"`
	Commands  []CommandView  `json:"commands"` // the latest sent, newest first, open incident or not
	Rollouts  []RolloutView  `json:"rollouts"` // fleet self-tests and updates, newest first
}

// KioskView is one kiosk's line.
type KioskView struct {
	ID           string                 `json:"id"`
	Status       string                 `json:"status"` // online, offline, stopped, unknown
	StatusAt     time.Time              `json:"status_at,omitzero"`
	HeartbeatAt  time.Time              `json:"heartbeat_at,omitzero"`
	Late         bool                   `json:"late"` // no heartbeat for staleHeartbeat
	Heartbeat    *contract.Heartbeat    `json:"heartbeat,omitempty"`
	Cameras      []CameraView           `json:"cameras,omitempty"`
	LastEventAt  time.Time              `json:"last_event_at,omitzero"`
	Seq          string                 `json:"seq,omitempty"` // seqs stored, "1–42", "1–7 (journal #2)"
	Availability *contract.Availability `json:"availability,omitempty"`
}

// IncidentView is one open incident with its story.
type IncidentView struct {
	Kiosk string `json:"kiosk"`
	contract.Incident
	Extra        []Field       `json:"extra,omitempty"` // fields the card does not show itself
	CallbackMet  bool          `json:"callback_met"`
	Timeline     []EventView   `json:"timeline"`
	Commands     []CommandView `json:"commands"`
	KioskClockOK bool          `json:"kiosk_clock_ok"`
}

// EventView is one event, its data flattened into fields.
type EventView struct {
	Kiosk       string    `json:"kiosk"`
	ID          string    `json:"id"`
	Seq         uint64    `json:"seq"`
	Type        string    `json:"type"`
	Incident    string    `json:"incident,omitempty"`
	Time        time.Time `json:"time"`
	ClockSynced bool      `json:"clock_synced"`
	Fields      []Field   `json:"fields,omitempty"`
}

// Field is one key and value from event data or an incident, for display.
// References (clips, live views) are whatever fields the kiosk sends; a URL
// value is shown as a link.
type Field struct {
	Key   string `json:"key"`
	Value string `json:"value"`
	URL   bool   `json:"url,omitempty"` // http(s): a link
	Ref   bool   `json:"ref,omitempty"` // looks like a clip or live-view reference
}

// CommandView is one command sent about an incident, with its outcome.
type CommandView struct {
	Sent
	Outcome string `json:"outcome"` // ok, pending, no_reply, send_failed, or the reply's error code
	Message string `json:"message,omitempty"`
}

// View builds the current view.
func (c *Console) View() View {
	now := time.Now()
	c.mu.Lock()
	v := View{Kiosks: []KioskView{}, Incidents: []IncidentView{}, Recent: []EventView{}, Now: now,
		Group: c.cfg.Group, Uploads: c.cfg.UploadDir != "", Counts: c.counts, Gaps: c.gaps.Gaps(now, c.cfg.GapGrace)}
	if v.Gaps == nil {
		v.Gaps = []Gap{}
	}
	v.Counts.Dropped = c.dropped.Load()
	for _, id := range slices.Sorted(maps.Keys(c.fleet)) {
		v.Kiosks = append(v.Kiosks, c.kioskView(id, now))
		v.Incidents = append(v.Incidents, c.incidentViews(id, now)...)
	}
	v.Commands = c.latestCommands(now)
	v.Rollouts = c.rolloutViews(now)
	for i := len(c.recent) - 1; i >= 0; i-- {
		v.Recent = append(v.Recent, eventView(c.recent[i].Kiosk, c.recent[i].Event))
	}
	c.mu.Unlock()
	v.Connected = c.Connected()
	for i := range v.Incidents {
		c.addTimeline(&v.Incidents[i])
	}
	slices.SortStableFunc(v.Incidents, func(a, b IncidentView) int {
		return cmp.Or(-cmp.Compare(len(a.Overdue), len(b.Overdue)),
			-cmp.Compare(a.Urgency, b.Urgency), a.RegisteredAt.Compare(b.RegisteredAt))
	})
	return v
}

// kioskView builds one kiosk's line; c.mu must be held.
func (c *Console) kioskView(id string, now time.Time) KioskView {
	k := c.fleet[id]
	kv := KioskView{ID: id, Status: "unknown", HeartbeatAt: k.heartbeatAt, Heartbeat: k.heartbeat,
		Cameras: cameraViews(k.cameras, now), LastEventAt: k.lastEvent, Availability: k.status}
	if k.status != nil {
		kv.Status, kv.StatusAt = k.status.State, k.statusAt
	}
	kv.Late = k.heartbeat == nil || now.Sub(k.heartbeatAt) > staleHeartbeat
	if gen, lo, hi, ok := c.gaps.Span(id); ok {
		kv.Seq = fmt.Sprintf("%d–%d", lo, hi)
		if gen > 0 {
			kv.Seq = fmt.Sprintf("%s (journal #%d)", kv.Seq, gen+1)
		}
	}
	return kv
}

// incidentViews lists one kiosk's open incidents from its retained state,
// with the commands sent about each; c.mu must be held.
func (c *Console) incidentViews(id string, now time.Time) []IncidentView {
	k := c.fleet[id]
	if k.state == nil {
		return nil
	}
	clockOK := k.heartbeat == nil || k.heartbeat.ClockSynced
	var out []IncidentView
	for i, in := range k.state.Incidents {
		iv := IncidentView{Kiosk: id, Incident: in, KioskClockOK: clockOK,
			CallbackMet: in.Status != "registered" && in.Status != "delivered" && in.Status != "cancelled"}
		if i < len(k.incidents) {
			iv.Extra = extraFields(k.incidents[i])
		}
		for _, s := range c.commands {
			if s.Kiosk == id && s.Incident == in.ID {
				iv.Commands = append(iv.Commands, commandView(*s, now))
			}
		}
		slices.SortFunc(iv.Commands, func(a, b CommandView) int { return b.SentAt.Compare(a.SentAt) })
		out = append(out, iv)
	}
	return out
}

// latestCommands lists the most recent commands; c.mu must be held.
func (c *Console) latestCommands(now time.Time) []CommandView {
	out := []CommandView{}
	for _, s := range c.commands {
		out = append(out, commandView(*s, now))
	}
	slices.SortFunc(out, func(a, b CommandView) int { return b.SentAt.Compare(a.SentAt) })
	return out[:min(len(out), recentCommands)]
}

// recentCommands is how many commands the page lists.
const recentCommands = 20

func commandView(s Sent, now time.Time) CommandView {
	cv := CommandView{Sent: s, Outcome: s.Outcome(now), Message: s.SendError}
	if s.Reply != nil && s.Reply.Error != nil {
		cv.Message = s.Reply.Error.Message
	}
	return cv
}

// addTimeline reads an incident's events from the store. With several
// station instances each stores only the events it received.
func (c *Console) addTimeline(iv *IncidentView) {
	events, err := c.store.Timeline(iv.Kiosk, iv.ID)
	if err != nil {
		c.log.Error("station: timeline", "incident", iv.ID, "err", err)
		return
	}
	for _, ev := range events {
		iv.Timeline = append(iv.Timeline, eventView(iv.Kiosk, ev))
	}
}

func eventView(kiosk string, ev contract.Event) EventView {
	ew := EventView{Kiosk: kiosk, ID: ev.ID, Seq: ev.Seq, Type: ev.Type, Incident: ev.Incident,
		Time: ev.Time, ClockSynced: ev.ClockSynced}
	var data map[string]any
	if json.Unmarshal(ev.Data, &data) == nil {
		delete(data, "incident") // the snapshot; the state shows the incident
		ew.Fields = flatten("", data, nil)
	}
	return ew
}

// cardFields are the incident fields the card shows itself; any other field
// of the state's incidents, known to the contract or added later, is shown
// as it is.
var cardFields = map[string]bool{"id": true, "request": true, "status": true, "source": true,
	"urgency": true, "delivered": true, "test": true, "presses": true, "registered_at": true,
	"callback_due": true, "close_due": true, "overdue": true, "responder": true}

// extraFields returns an incident's fields the contract type does not name.
func extraFields(raw map[string]any) []Field {
	extra := map[string]any{}
	for k, v := range raw {
		if !cardFields[k] {
			extra[k] = v
		}
	}
	return flatten("", extra, nil)
}

// maxFields bounds what one event or incident shows.
const maxFields = 40

// flatten turns nested JSON into dotted keys, in key order.
func flatten(prefix string, v any, out []Field) []Field {
	if len(out) >= maxFields {
		return out
	}
	switch t := v.(type) {
	case map[string]any:
		for _, k := range slices.Sorted(maps.Keys(t)) {
			out = flatten(join(prefix, k), t[k], out)
		}
	case []any:
		for i, e := range t {
			out = flatten(fmt.Sprintf("%s[%d]", prefix, i), e, out)
		}
	case string:
		out = append(out, field(prefix, t))
	case nil:
		out = append(out, Field{Key: prefix, Value: "—"})
	default:
		b, _ := json.Marshal(t)
		out = append(out, field(prefix, string(b)))
	}
	return out
}

func join(prefix, k string) string {
	if prefix == "" {
		return k
	}
	return prefix + "." + k
}

func field(key, value string) Field {
	if t, err := time.Parse(time.RFC3339Nano, value); err == nil {
		value = t.Local().Format("2006-01-02 15:04:05")
	}
	lower := strings.ToLower(key)
	isURL := strings.HasPrefix(value, "http://") || strings.HasPrefix(value, "https://")
	ref := isURL || strings.HasPrefix(value, "rtsp://") ||
		strings.Contains(lower, "clip") || strings.Contains(lower, "live")
	return Field{Key: key, Value: value, URL: isURL, Ref: ref}
}

// CameraView is one camera's health as the kiosk reports it.
type CameraView struct {
	ID      string `json:"id"`
	State   string `json:"state"` // online, no_video, offline, config_fault
	Problem string `json:"problem,omitempty"`
	Detail  string `json:"detail,omitempty"` // frame rate, codec, last frame, reconnects
}

func cameraViews(cams []contract.CameraStatus, now time.Time) []CameraView {
	var out []CameraView
	for _, cam := range cams {
		var d []string
		if cam.FPS > 0 {
			d = append(d, fmt.Sprintf("%.0f fps", cam.FPS))
		}
		if cam.Codec != "" {
			d = append(d, fmt.Sprintf("%s %d×%d", cam.Codec, cam.Width, cam.Height))
		}
		if !cam.LastFrame.IsZero() {
			d = append(d, "末帧 last frame "+age(cam.LastFrame, now))
		}
		if cam.Reconnects > 0 || cam.Restarts > 0 {
			d = append(d, fmt.Sprintf("重连 reconnects %d, 重启 restarts %d", cam.Reconnects, cam.Restarts))
		}
		out = append(out, CameraView{ID: cam.ID, State: cam.State, Problem: cam.Problem, Detail: strings.Join(d, " · ")})
	}
	return out
}
