package contract

import "time"

// Cameras and their clips. Clip events (clip.*) name their incident in the
// envelope and carry the clip under data.clip; camera.state events carry a
// camera's new state. The retained Cameras topic holds every camera's status.

// CmdUploadClip asks the kiosk to PUT a clip's MP4 to a URL.
const CmdUploadClip = "upload_clip" // UploadClipArgs

// UploadClipArgs: upload clip Clip of incident Incident to URL (an object
// store's presigned PUT URL). The kiosk sends Content-Length, Content-Type
// video/mp4 and Content-MD5; the result comes as clip.uploaded (with the
// file's sha256) or clip.upload_failed.
type UploadClipArgs struct {
	Incident string `json:"incident"`
	Clip     string `json:"clip"`
	URL      string `json:"url"`
}

// CmdClipLink asks the kiosk for a fresh fetch URL of a clip.
const CmdClipLink = "clip_link" // ClipLinkArgs

// ClipLinkArgs: a fresh fetch URL of clip Clip of incident Incident. The
// reply's result is a ClipLink.
type ClipLinkArgs struct {
	Incident string `json:"incident"`
	Clip     string `json:"clip"`
}

// ClipLink is the result of clip_link: GET Fetch (Range requests served)
// before Expires for the clip's MP4.
type ClipLink struct {
	Clip    string    `json:"clip"`
	Fetch   string    `json:"fetch"`   // http(s)://HOST:PORT/api/clips/ID?token=...
	Expires time.Time `json:"expires"` // the token's end, kiosk time
	SHA256  string    `json:"sha256"`  // hex, of the MP4 file
	Bytes   int64     `json:"bytes"`
}

// Cameras: kiosk → platform, retained, QoS 1. Every camera's status,
// republished when a camera's state changes and on every (re)connect.
func (t Topics) Cameras() string { return t.root + "cameras" }

// CameraReport is the retained camera status. Figures that move every
// second (fps, bitrate, last frame, pre-roll) are left out here; the
// heartbeat carries them.
type CameraReport struct {
	V         int            `json:"v"`
	Kiosk     string         `json:"kiosk"`
	BootEpoch uint64         `json:"boot_epoch"`
	Time      time.Time      `json:"time"` // the last state change
	Cameras   []CameraStatus `json:"cameras"`
}

// Clip is a video clip of an incident, as clip.* events carry it in data.clip.
type Clip struct {
	ID          string    `json:"id"`
	Camera      string    `json:"camera"`
	State       string    `json:"state"`          // recording, ready, failed, uploaded, acked; evicted in clip.evicted
	Start       time.Time `json:"start,omitzero"` // wall time of the first frame (a keyframe)
	End         time.Time `json:"end,omitzero"`   // wall time of the last frame
	DurationMs  int64     `json:"duration_ms,omitempty"`
	Bytes       int64     `json:"bytes,omitempty"`
	SHA256      string    `json:"sha256,omitempty"` // hex, of the MP4 file
	BeforePress int64     `json:"keyframe_before_press_ms,omitempty"`
	Cut         string    `json:"cut,omitempty"`     // why it ended before its planned end
	Error       string    `json:"error,omitempty"`   // why it failed
	Live        string    `json:"live,omitempty"`    // rtsp://HOST:8554/CAMERA?token=..., expiring
	Fetch       string    `json:"fetch,omitempty"`   // clip.ready: http(s)://HOST:PORT/api/clips/ID?token=..., expiring
	Partial     bool      `json:"partial,omitempty"` // clip.ready: cut short by a kill or crash, finished after (see doc.md)
}
