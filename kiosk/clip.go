package kiosk

import (
	"fmt"
	"slices"
	"time"
)

// Event types of cameras and their clips. Clip events name their incident
// but carry the clip, not the incident's snapshot: a clip may end after
// its incident closed.
const (
	EvClipRecording      = "clip.recording"
	EvClipReady          = "clip.ready"
	EvClipFailed         = "clip.failed"
	EvClipUploadProgress = "clip.upload_progress"
	EvClipUploaded       = "clip.uploaded"
	EvClipUploadFailed   = "clip.upload_failed"
	EvClipEvicted        = "clip.evicted"
	EvCameraState        = "camera.state"
)

// clipEvents lists the event types a ClipEvent may carry; telemetryEvents
// are the ones that may be dropped when space is short.
var (
	clipEvents = []string{EvClipRecording, EvClipReady, EvClipFailed,
		EvClipUploadProgress, EvClipUploaded, EvClipUploadFailed, EvClipEvicted}
	telemetryEvents = []string{EvClipUploadProgress, EvCameraState}
)

// Clip is a video clip of an incident as its events carry it (data.clip).
type Clip struct {
	ID       string    `json:"id"`
	Camera   string    `json:"camera"`
	State    string    `json:"state"` // recording, ready, failed, uploaded, acked; evicted in clip.evicted
	Start    time.Time `json:"start,omitzero"`
	End      time.Time `json:"end,omitzero"`
	Duration int64     `json:"duration_ms,omitempty"`
	Bytes    int64     `json:"bytes,omitempty"`
	SHA256   string    `json:"sha256,omitempty"` // hex, of the MP4 file
	// BeforePress is how far before the press the clip starts (a keyframe).
	BeforePress int64  `json:"keyframe_before_press_ms,omitempty"`
	Cut         string `json:"cut,omitempty"`     // why it ended before its planned end
	Error       string `json:"error,omitempty"`   // why it failed
	Live        string `json:"live,omitempty"`    // the camera's live-view reference, with an expiring token
	Fetch       string `json:"fetch,omitempty"`   // clip.ready: where the platform GETs the MP4, with an expiring token
	Partial     bool   `json:"partial,omitempty"` // cut short by a kill or crash, finished after
}

// ClipEvent journals news of an incident's clip: Event is one of the clip.*
// types, Detail the type's fields besides "clip" (bytes_sent, url,
// reason...).
type ClipEvent struct {
	Event    string
	Incident string
	Clip     Clip
	Detail   map[string]any
}

// CameraChanged journals a camera's new health state (telemetry).
type CameraChanged struct{ Camera, State, Problem string }

func (ClipEvent) isInput()     {}
func (CameraChanged) isInput() {}

func (st *step) clipEvent(ce ClipEvent) error {
	switch {
	case !slices.Contains(clipEvents, ce.Event):
		return fmt.Errorf("%w: %q is not a clip event", ErrBadInput, ce.Event)
	case ce.Incident == "" || ce.Clip.ID == "":
		return fmt.Errorf("%w: clip event without incident or clip id", ErrBadInput)
	}
	data := map[string]any{"clip": ce.Clip}
	for k, v := range ce.Detail {
		data[k] = v
	}
	st.fx.Records = append(st.fx.Records, Record{Type: ce.Event, Incident: ce.Incident, Data: data,
		Telemetry: slices.Contains(telemetryEvents, ce.Event)})
	return nil
}

func (st *step) cameraChanged(c CameraChanged) error {
	if c.Camera == "" || c.State == "" {
		return fmt.Errorf("%w: camera state without camera or state", ErrBadInput)
	}
	st.fx.Records = append(st.fx.Records, Record{Type: EvCameraState, Telemetry: true,
		Data: map[string]any{"camera": c.Camera, "state": c.State, "problem": c.Problem}})
	return nil
}
