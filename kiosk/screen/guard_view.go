package screen

import (
	"cmp"
	"encoding/json"
	"maps"
	"slices"
	"time"

	"kioskd/kiosk"
	"kioskd/kiosk/journal"
)

// consoleView is what the console shows: the open incidents, most urgent
// first, each with its timeline, and the post's faults.
type consoleView struct {
	KioskID   string
	User      string
	CSRF      string
	Now       time.Time // kiosk time when rendered: the page's countdowns start from it
	Online    bool
	Faults    []kiosk.Fault
	Recovery  *kiosk.Recovery // a journal recovery waiting for a person: the banner
	Incidents []incidentView
	Cameras   []CameraHealth
}

type incidentView struct {
	*kiosk.Incident
	Timeline []timelineEntry // the latest maxTimeline events, oldest first
	Earlier  int             // events before those, not shown
	Clips    []clipView
	LastSeq  uint64   // of the incident's last event: with UpdatedAt, the card's version
	Closes   []string // the outcomes the close form offers, the likeliest first
	// CloseSuggested: the incident's story names its likely close outcome
	// (the first of Closes); else the guard must choose one.
	CloseSuggested bool
}

// timelineEntry is one event of an incident, as the guard reads it.
type timelineEntry struct {
	Seq    uint64
	Type   string
	Time   time.Time
	Synced bool
	Data   eventData
}

// eventData holds the fields of an event's data the timeline shows.
type eventData struct {
	Source     string     `json:"source"`
	Presses    int        `json:"presses"`
	Reason     string     `json:"reason"`
	Responder  string     `json:"responder"`
	CallbackBy time.Time  `json:"callback_by"`
	From       string     `json:"from"`
	Text       string     `json:"text"`
	By         string     `json:"by"`
	Outcome    string     `json:"outcome"`
	Deadline   string     `json:"deadline"`
	Clip       kiosk.Clip `json:"clip"`
}

// maxTimeline bounds the events shown per incident: a button pressed a
// thousand times must not make the console a thousand lines long.
const maxTimeline = 40

// Outcomes a close may record besides kiosk.Outcomes.
const (
	closedHandedOver = "handed_to_station" // 已移交派出所
	closedCancelled  = "caller_cancelled"  // 来电人已取消
)

var closeOutcomes = append(slices.Clone(kiosk.Outcomes), closedHandedOver, closedCancelled)

// view builds the console's view of s for one guard.
func (g *Guard) view(s kiosk.State, user, csrf string) consoleView {
	v := consoleView{KioskID: g.KioskID, User: user, CSRF: csrf, Now: g.Now(), Online: g.Online(), Cameras: g.cameras(),
		Recovery: s.Recovery}
	for _, f := range s.Faults {
		v.Faults = append(v.Faults, f)
	}
	slices.SortFunc(v.Faults, func(a, b kiosk.Fault) int { return cmp.Compare(a.Key, b.Key) })
	for _, in := range mostUrgentFirst(s) {
		iv := incidentView{Incident: in}
		iv.Closes, iv.CloseSuggested = closesFor(in)
		g.readHistory(&iv)
		v.Incidents = append(v.Incidents, iv)
	}
	return v
}

// mostUrgentFirst orders the open incidents by urgency, then overdue ones
// (the more deadlines missed, the earlier), then the oldest.
func mostUrgentFirst(s kiosk.State) []*kiosk.Incident {
	list := slices.Collect(maps.Values(s.Incidents))
	slices.SortFunc(list, func(a, b *kiosk.Incident) int {
		return cmp.Or(
			cmp.Compare(b.Urgency, a.Urgency),
			cmp.Compare(len(b.Overdue), len(a.Overdue)),
			a.RegisteredAt.Compare(b.RegisteredAt),
			cmp.Compare(a.ID, b.ID),
		)
	})
	return list
}

// closesFor lists the close outcomes with the one the incident's story
// suggests, if any, first.
func closesFor(in *kiosk.Incident) (outcomes []string, suggested bool) {
	first := ""
	switch {
	case in.Status == kiosk.Escalated:
		first = closedHandedOver
	case in.Status == kiosk.Cancelled:
		first = closedCancelled
	case slices.Contains(kiosk.Outcomes, in.Outcome):
		first = in.Outcome
	}
	out := []string{}
	if first != "" {
		out = append(out, first)
	}
	for _, o := range closeOutcomes {
		if o != first {
			out = append(out, o)
		}
	}
	return out, first != ""
}

// readHistory reads an incident's events from the journal for its timeline
// and clips. A read error is logged and shows as an empty timeline, never
// as a broken console.
func (g *Guard) readHistory(iv *incidentView) {
	events, err := g.History.IncidentEvents(iv.ID)
	if err != nil {
		g.Log.Error("guard console: read incident events", "incident", iv.ID, "err", err)
		return
	}
	iv.Clips = clipsOf(events)
	if n := len(events); n > 0 {
		iv.LastSeq = events[n-1].Seq
	}
	shown := make([]timelineEntry, 0, len(events))
	for _, ev := range events {
		if !ev.Telemetry && ev.Type != kiosk.EvClipUploadProgress {
			shown = append(shown, entryOf(ev))
		}
	}
	iv.Earlier = max(0, len(shown)-maxTimeline)
	iv.Timeline = shown[iv.Earlier:]
}

func entryOf(ev journal.Event) timelineEntry {
	e := timelineEntry{Seq: ev.Seq, Type: ev.Type, Time: ev.Time, Synced: ev.ClockSynced}
	json.Unmarshal(ev.Data, &e.Data) // a field that does not decode just stays empty
	return e
}
