package rtspcam

import (
	"time"

	"kioskd/devices"
)

// health follows one camera and says how it is, honestly: connected and
// frames within devices.NoVideoAfter is online, anything less is not.
type health struct {
	camera      string
	connected   bool
	connectedAt time.Time
	lastFrame   time.Time
	fault       error // a configuration fault, until a usable frame comes
	problem     error // the latest reason for being offline or without video
	reconnects  int
	sessions    int
	codec       codec
	width       int
	height      int

	// A one-second window for fps and bitrate.
	windowStart  time.Time
	windowFrames int
	windowBytes  int64
	fps          float64
	bitrate      int64
	lastParams   *params
	lastSent     devices.CameraHealth
}

func (h *health) onConnected(now time.Time, c codec) {
	h.connected, h.connectedAt, h.codec, h.fault = true, now, c, nil
	h.resetRate()
	if h.sessions++; h.sessions > 1 {
		h.reconnects++
	}
}

func (h *health) onDisconnected(err error) {
	h.connected, h.problem = false, err
	h.resetRate()
}

// resetRate starts a new rate window at the next frame.
func (h *health) resetRate() {
	h.windowStart, h.windowFrames, h.windowBytes, h.fps, h.bitrate = time.Time{}, 0, 0, 0, 0
}

func (h *health) onFrame(f *frame) {
	h.lastFrame, h.fault = f.at, nil
	if h.windowStart.IsZero() {
		h.windowStart = f.at
	}
	h.windowFrames++
	h.windowBytes += int64(len(f.data))
	if f.params != h.lastParams {
		h.lastParams = f.params
		h.width, h.height = f.params.data.Width(), f.params.data.Height()
	}
}

// tick closes the rate window once a second has passed since its first
// frame: fps and bitrate are measured over the last full second or more.
func (h *health) tick(now time.Time) {
	d := now.Sub(h.windowStart)
	if h.windowStart.IsZero() || d < time.Second {
		return
	}
	h.fps = float64(h.windowFrames) / d.Seconds()
	h.bitrate = int64(float64(h.windowBytes*8) / d.Seconds())
	h.windowStart, h.windowFrames, h.windowBytes = now, 0, 0
}

// state is the camera's state and the human text for it at now.
func (h *health) state(now time.Time) (devices.CameraState, string) {
	switch {
	case h.fault != nil:
		return devices.CameraConfigFault, h.fault.Error()
	case !h.connected:
		if h.problem == nil {
			return devices.CameraOffline, "connecting"
		}
		return devices.CameraOffline, h.problem.Error()
	case now.Sub(h.lastFrame) <= devices.NoVideoAfter:
		return devices.CameraOnline, ""
	case now.Sub(h.connectedAt) <= devices.NoVideoAfter:
		return devices.CameraOffline, "connected, waiting for the first frame"
	}
	since := h.connectedAt
	if h.lastFrame.After(since) {
		since = h.lastFrame
	}
	problem := "connected, but no video for " + now.Sub(since).Truncate(time.Second).String()
	if h.problem != nil {
		problem += " (" + h.problem.Error() + ")"
	}
	return devices.CameraNoVideo, problem
}

// report is the health message at now, with the ring's figures.
func (h *health) report(now time.Time, r *ring) devices.CameraHealth {
	state, problem := h.state(now)
	m := devices.CameraHealth{
		Type: devices.MessageHealth, Camera: h.camera, State: state, Problem: problem,
		Connected: h.connected, LastFrame: h.lastFrame, Reconnects: h.reconnects,
		Width: h.width, Height: h.height,
		PrerollBytes: r.bytes, PrerollMs: r.span().Milliseconds(), GopMs: r.gopSpan.Milliseconds(),
	}
	if h.codec != 0 {
		m.Codec = h.codec.String()
	}
	if state == devices.CameraOnline {
		m.FPS, m.BitrateBps = h.fps, h.bitrate
	}
	return m
}

// changed reports whether m differs from the last report in what a
// reader would act on (not the running figures).
func (h *health) changed(m devices.CameraHealth) bool {
	l := h.lastSent
	return m.State != l.State || m.Connected != l.Connected || m.Codec != l.Codec ||
		m.Width != l.Width || m.Height != l.Height || m.Reconnects != l.Reconnects ||
		m.State != devices.CameraOnline && m.Problem != l.Problem && !sameNoVideo(m, l)
}

// sameNoVideo: the no-video text counts up every second; that alone is
// no change worth an extra report.
func sameNoVideo(m, l devices.CameraHealth) bool {
	return m.State == devices.CameraNoVideo && l.State == devices.CameraNoVideo
}
