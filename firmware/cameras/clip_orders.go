package cameras

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"kioskd/devices"
	"kioskd/kiosk"
	"kioskd/kiosk/journal"
)

// Clips of an incident: ordered from each covering camera when the
// incident is registered, extended while it waits for someone to take it
// in hand, indexed in the journal and reported as clip.* events.

const (
	// extendAhead: while the incident waits, its clips run at least this
	// far past now (up to their cap).
	extendAhead = 10 * time.Second
	// reportGrace: a clip with no final report this long after its
	// planned end has failed.
	reportGrace = 30 * time.Second
)

// activeClip is a clip being recorded.
type activeClip struct {
	clip    journal.Clip
	press   time.Time // monotonic
	end     time.Time // monotonic planned end
	limit   time.Time // press + post_roll_cap
	live    string
	began   bool // the child reported it recording
	partial bool // cut short by a kill or crash, finished by kioskd
	camera  *camera
}

func newClipID() string {
	var b [8]byte
	rand.Read(b[:])
	return "clip-" + hex.EncodeToString(b[:])
}

// orderClips asks every camera covering the press for a clip.
func (cs *Set) orderClips(ctx context.Context, p press) {
	for _, c := range cs.cams {
		if c.covers(p.request, p.source) {
			cs.orderClip(ctx, c, p)
		}
	}
}

func (cs *Set) orderClip(ctx context.Context, c *camera, p press) {
	id := newClipID()
	cl := journal.Clip{ID: id, Incident: p.incident, Camera: c.cfg.ID, File: id + ".mp4", Ordered: p.wall}
	if err := cs.journal.AddClip(cl); err != nil {
		cs.log.Error("clip not indexed; not recorded", "incident", p.incident, "camera", c.cfg.ID, "err", err)
		return
	}
	a := &activeClip{clip: cl, press: p.at, end: p.at.Add(c.cfg.PostRoll.Duration),
		limit: p.at.Add(c.cfg.PostRollCap.Duration), live: cs.liveRef(c.cfg.ID), camera: c}
	cs.active[id] = a
	cs.announce(ctx, a) // clip.recording before anything can end the clip
	err := cs.roomForClip()
	if err == nil {
		err = c.proc.Send(devices.ClipOrder{
			Op: devices.OpClip, ID: id, Incident: p.incident, AgeMs: time.Since(p.at).Milliseconds(),
			PreRollMs: c.cfg.PreRoll.Milliseconds(), PostRollMs: c.cfg.PostRoll.Milliseconds(),
			CapMs: c.cfg.PostRollCap.Milliseconds(), Path: cs.clipPath(cl.File),
		})
	}
	if err != nil {
		cs.finishClip(ctx, a, devices.ClipReport{ID: id, State: devices.ClipFailed, Error: err.Error()})
	}
}

// announce journals a clip's clip.recording event, once: kioskd says it
// when it orders the clip, not when the camera process answers, so that
// no end of a clip (even one the camera never heard of) comes without it.
// It reports whether the clip is announced.
func (cs *Set) announce(ctx context.Context, a *activeClip) bool {
	if a.clip.Announced {
		return true
	}
	ref := clipRef(journal.Clip{ID: a.clip.ID, Camera: a.clip.Camera, State: journal.ClipRecording}) // no more is known yet
	ref.Live = a.live
	if err := cs.journalInput(ctx, kiosk.ClipEvent{Event: kiosk.EvClipRecording, Incident: a.clip.Incident, Clip: ref}); err != nil {
		cs.log.Error("clip.recording not journaled", "clip", a.clip.ID, "err", err)
		return false
	}
	stored, err := cs.journal.MarkClipAnnounced(a.clip.ID)
	if err != nil {
		cs.log.Error("clip announced but not marked so; it may be announced twice", "clip", a.clip.ID, "err", err)
		stored, stored.Announced = a.clip, true
	}
	a.clip = stored
	return true
}

func (cs *Set) clipPath(file string) string { return filepath.Join(cs.clips.Dir, file) }

// clipReport handles a child's report on one of its clips.
func (cs *Set) clipReport(ctx context.Context, camera string, r devices.ClipReport) {
	a, ok := cs.active[r.ID]
	if !ok || a.clip.Camera != camera {
		cs.log.Warn("report on a clip not in progress", "camera", camera, "clip", r.ID, "state", r.State)
		return
	}
	if r.State != devices.ClipRecording {
		cs.finishClip(ctx, a, r)
		return
	}
	a.began = true // clip.recording was journaled when the clip was ordered
	if r.Start.IsZero() {
		return
	}
	if stored, err := cs.journal.MarkClipStarted(r.ID, r.Start, r.KeyframeBeforePressMs); err == nil {
		a.clip = stored
	} else {
		cs.log.Warn("clip start not indexed", "clip", r.ID, "err", err)
	}
}

// finishClip indexes and journals a clip's end. A "ready" clip whose file
// is not what the child said is failed.
func (cs *Set) finishClip(ctx context.Context, a *activeClip, r devices.ClipReport) {
	delete(cs.active, a.clip.ID)
	c := journal.Clip{ID: a.clip.ID, State: journal.ClipFailed, Start: r.Start, End: r.End,
		DurationMs: r.DurationMs, Bytes: r.Bytes, SHA256: r.SHA256, Error: r.Error, Partial: a.partial}
	if r.State == devices.ClipReady {
		c.State = journal.ClipReady
		if err := checkClipFile(cs.clipPath(a.clip.File), r.Bytes); err != nil {
			c.State, c.Error = journal.ClipFailed, err.Error()
		}
	} else if c.Error == "" {
		c.Error = "the camera process reported the clip failed"
	}
	stored, err := cs.journal.FinishClip(c)
	if err != nil {
		cs.log.Error("clip end not indexed", "clip", c.ID, "err", err)
		stored = a.clip
		stored.State, stored.Error = c.State, c.Error
	}
	ev := kiosk.EvClipReady
	if stored.State == journal.ClipFailed {
		ev = kiosk.EvClipFailed
		cs.log.Warn("clip failed", "clip", c.ID, "camera", a.clip.Camera, "incident", a.clip.Incident, "err", stored.Error)
	}
	ref := cs.endRef(stored)
	ref.BeforePress, ref.Cut, ref.Live = r.KeyframeBeforePressMs, r.Cut, a.live
	if !cs.announce(ctx, a) {
		cs.log.Error("clip end not reported: its clip.recording could not be journaled", "clip", c.ID, "state", stored.State)
		return
	}
	cs.submit(ctx, kiosk.ClipEvent{Event: ev, Incident: a.clip.Incident, Clip: ref})
}

func checkClipFile(path string, bytes int64) error {
	info, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("clip file: %w", err)
	}
	if info.Size() != bytes {
		return fmt.Errorf("clip file holds %d bytes, the camera reported %d", info.Size(), bytes)
	}
	return nil
}

// clipRef is a clip as its clip.* events carry it (data.clip): the one
// conversion from the clip index's journal.Clip, the set's own form of a
// clip, to the events' kiosk.Clip (whose JSON is the contract's Clip).
func clipRef(c journal.Clip) kiosk.Clip {
	return kiosk.Clip{ID: c.ID, Camera: c.Camera, State: c.State, Start: c.Start, End: c.End,
		Duration: c.DurationMs, Bytes: c.Bytes, SHA256: c.SHA256, Error: c.Error, Partial: c.Partial}
}

// endRef is a clip as its clip.ready or clip.failed event carries it: a
// ready one with its fetch URL, when there is a clip server.
func (cs *Set) endRef(c journal.Clip) kiosk.Clip {
	ref := clipRef(c)
	if c.State == journal.ClipReady {
		ref.Fetch, _ = cs.fetchLink(c.ID)
	}
	return ref
}

// settleCameraClips finishes every clip in progress on a camera whose
// process ended: what it wrote is kept (clip_salvage.go).
func (cs *Set) settleCameraClips(ctx context.Context, camera, why string) {
	for _, a := range cs.active {
		if a.clip.Camera == camera {
			cs.settleClip(ctx, a, why)
		}
	}
}

// extendClips keeps the clips of incidents still waiting to be taken in
// hand (registered or delivered) running extendAhead past now, up to
// their cap.
func (cs *Set) extendClips() {
	if len(cs.active) == 0 {
		return
	}
	st := cs.ctrl.State()
	for _, a := range cs.active {
		in, ok := st.Incidents[a.clip.Incident]
		if !ok || (in.Status != kiosk.Registered && in.Status != kiosk.Delivered) {
			continue
		}
		want := time.Now().Add(extendAhead)
		if want.After(a.limit) {
			want = a.limit
		}
		by := want.Sub(a.end)
		if by < time.Second {
			continue
		}
		if err := a.camera.proc.Send(devices.ClipOrder{Op: devices.OpExtend, ID: a.clip.ID, ByMs: by.Milliseconds()}); err != nil {
			cs.log.Warn("clip not extended", "clip", a.clip.ID, "err", err)
			continue
		}
		a.end = want
	}
}

// expireClips fails clips whose child never reported their end.
func (cs *Set) expireClips(ctx context.Context) {
	for _, a := range cs.active {
		if time.Since(a.end) > reportGrace {
			cs.finishClip(ctx, a, devices.ClipReport{ID: a.clip.ID, State: devices.ClipFailed,
				Error: "no report from the camera process " + reportGrace.String() + " after the clip's end"})
		}
	}
}
