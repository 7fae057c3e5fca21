package devices

// The camera child-process protocol. kioskd runs each camera in a child
// process of its own binary (the `kioskd camera` subcommand, which calls
// devices/rtspcam.Serve), because the RTSP library can crash on malformed
// RTP.
// The parent writes ClipOrder values to the child's stdin and reads
// CameraHealth and ClipReport values from its stdout, one JSON object per
// line; the child logs to stderr. Times in messages are wall clock, so the
// parent can relate them to the press; durations are whole milliseconds.

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// ClipOp is what a ClipOrder asks of the camera.
type ClipOp string

const (
	// OpClip starts a clip: pre-roll before the press, post-roll after it.
	OpClip ClipOp = "clip"
	// OpExtend pushes the end of a recording clip later by ByMs, never
	// beyond press + CapMs.
	OpExtend ClipOp = "extend"
	// OpFinish ends a recording clip now (e.g. at shutdown).
	OpFinish ClipOp = "finish"
)

// Defaults for the clip window (10 s before the press, 20 s after it,
// never longer than two minutes after the press in all).
const (
	DefaultPreRoll  = 10 * time.Second
	DefaultPostRoll = 20 * time.Second
	DefaultClipCap  = 2 * time.Minute
)

// ClipOrder is one line from the parent to a camera child. For OpClip all
// fields but ByMs are set; OpExtend sets ID and ByMs; OpFinish sets ID.
type ClipOrder struct {
	Op       ClipOp `json:"op"`
	ID       string `json:"id"`
	Incident string `json:"incident,omitempty"`
	// AgeMs is how long ago the press was, measured by the parent when it
	// sends the order; the child subtracts it from its own monotonic now.
	AgeMs      int64  `json:"age_ms,omitempty"`
	PreRollMs  int64  `json:"pre_roll_ms,omitempty"`
	PostRollMs int64  `json:"post_roll_ms,omitempty"`
	CapMs      int64  `json:"cap_ms,omitempty"`
	Path       string `json:"path,omitempty"` // the final .mp4 path
	ByMs       int64  `json:"by_ms,omitempty"`
}

// Check reports the first thing wrong with an order.
func (o ClipOrder) Check() error {
	if o.ID == "" {
		return errors.New("clip order without id")
	}
	switch o.Op {
	case OpClip:
		if o.Path == "" {
			return fmt.Errorf("clip order %s: no path", o.ID)
		}
		if o.AgeMs < 0 || o.PreRollMs < 0 || o.PostRollMs < 0 || o.CapMs < 0 {
			return fmt.Errorf("clip order %s: negative duration", o.ID)
		}
	case OpExtend:
		if o.ByMs <= 0 {
			return fmt.Errorf("extend order %s: by_ms must be > 0", o.ID)
		}
	case OpFinish:
	default:
		return fmt.Errorf("clip order %s: unknown op %q", o.ID, o.Op)
	}
	return nil
}

// Window returns the order's pre-roll, post-roll and cap (the longest the
// clip may run after the press), with the defaults for fields left at
// zero. The cap is never shorter than the post-roll.
func (o ClipOrder) Window() (preRoll, postRoll, limit time.Duration) {
	preRoll, postRoll, limit = ms(o.PreRollMs), ms(o.PostRollMs), ms(o.CapMs)
	if preRoll == 0 {
		preRoll = DefaultPreRoll
	}
	if postRoll == 0 {
		postRoll = DefaultPostRoll
	}
	if limit == 0 {
		limit = DefaultClipCap
	}
	return preRoll, postRoll, max(limit, postRoll)
}

func ms(n int64) time.Duration { return time.Duration(n) * time.Millisecond }

// CameraState is a camera's health in one word.
type CameraState string

const (
	CameraOnline CameraState = "online" // connected and frames arrive
	// CameraNoVideo: connected, but no frame for NoVideoAfter.
	CameraNoVideo CameraState = "no_video"
	CameraOffline CameraState = "offline" // not connected (dialling, backing off)
	// CameraConfigFault: the camera sends what we cannot record (B-frames,
	// an unsupported codec) or its config is wrong (e.g. no credentials).
	CameraConfigFault CameraState = "config_fault"
)

// NoVideoAfter is how long a connected camera may go without a frame before
// it is reported as CameraNoVideo.
const NoVideoAfter = 3 * time.Second

// Message types on the child's stdout.
const (
	MessageHealth = "health"
	MessageClip   = "clip"
)

// CameraHealth is sent by the child every second and on every change.
type CameraHealth struct {
	Type         string      `json:"type"` // MessageHealth
	Camera       string      `json:"camera"`
	State        CameraState `json:"state"`
	Problem      string      `json:"problem,omitempty"` // human text when not online
	Connected    bool        `json:"connected"`
	LastFrame    time.Time   `json:"last_frame,omitzero"`
	FPS          float64     `json:"fps"`
	BitrateBps   int64       `json:"bitrate_bps"`
	GopMs        int64       `json:"gop_ms"`
	Codec        string      `json:"codec,omitempty"` // "h264" or "h265"
	Width        int         `json:"width,omitempty"`
	Height       int         `json:"height,omitempty"`
	Reconnects   int         `json:"reconnects"`
	PrerollBytes int64       `json:"preroll_bytes"` // raw frame bytes held in the ring
	PrerollMs    int64       `json:"preroll_ms"`    // span of video held in the ring
	// Relay counts the live relay's viewers (rtspcam/relay.go).
	Relay *RelayStats `json:"relay,omitempty"`
}

// RelayStats counts a camera's live viewers since its child started.
type RelayStats struct {
	Viewers int   `json:"viewers"` // watching now
	Served  int64 `json:"served"`  // viewers ever joined
	Dropped int64 `json:"dropped"` // viewers dropped for falling behind
	Bytes   int64 `json:"bytes"`   // bytes sent to viewers
}

// ClipState is where a clip is in the child.
type ClipState string

const (
	ClipRecording ClipState = "recording"
	ClipReady     ClipState = "ready"
	ClipFailed    ClipState = "failed"
)

// ClipReport is sent by the child when a clip starts recording (once its
// pre-roll is written; with Start and KeyframeBeforePressMs when the ring
// had video) and when it ends (ready or failed). Start is the wall time of
// the clip's first frame (a keyframe), End that of its last frame.
type ClipReport struct {
	Type       string    `json:"type"` // MessageClip
	ID         string    `json:"id"`
	State      ClipState `json:"state"`
	Start      time.Time `json:"start,omitzero"`
	End        time.Time `json:"end,omitzero"`
	DurationMs int64     `json:"duration_ms"`
	Bytes      int64     `json:"bytes"`
	SHA256     string    `json:"sha256,omitempty"` // hex, of the final file
	// KeyframeBeforePressMs is how far before the press the clip starts.
	KeyframeBeforePressMs int64 `json:"keyframe_before_press_ms"`
	// Cut says why a clip ended before its planned end: "camera lost",
	// "codec change", "cap", "finish", "shutdown".
	Cut   string `json:"cut,omitempty"`
	Error string `json:"error,omitempty"`
}

// CameraMessage is one decoded line from a camera child: exactly one of
// Health and Clip is set.
type CameraMessage struct {
	Health *CameraHealth
	Clip   *ClipReport
}

// ParseCameraMessage decodes one line of a camera child's stdout.
func ParseCameraMessage(line []byte) (CameraMessage, error) {
	var head struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(line, &head); err != nil {
		return CameraMessage{}, fmt.Errorf("camera message: %w", err)
	}
	switch head.Type {
	case MessageHealth:
		var h CameraHealth
		if err := json.Unmarshal(line, &h); err != nil {
			return CameraMessage{}, fmt.Errorf("camera health: %w", err)
		}
		return CameraMessage{Health: &h}, nil
	case MessageClip:
		var c ClipReport
		if err := json.Unmarshal(line, &c); err != nil {
			return CameraMessage{}, fmt.Errorf("clip report: %w", err)
		}
		return CameraMessage{Clip: &c}, nil
	}
	return CameraMessage{}, fmt.Errorf("camera message: unknown type %q", head.Type)
}
