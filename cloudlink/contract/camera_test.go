package contract

import (
	"testing"
	"time"
)

// The camera part of the examples' story: camera "door" films the police
// call; "counter" has lost its video.

const exClipID = "clip-3b8e0f6a2c9d4171"

func exCameraStatuses() []CameraStatus {
	return []CameraStatus{
		{ID: "door", State: "online", Since: exT0.Add(-2 * time.Hour), Connected: true, LastFrame: at(119),
			FPS: 25, BitrateBps: 4_012_000, GopMs: 2000, Codec: "h264", Width: 1920, Height: 1080,
			Reconnects: 1, PrerollMs: 11_960, PrerollBytes: 6_020_000},
		{ID: "counter", State: "no_video", Problem: "connected, no frame for 3s", Since: at(100), Connected: true,
			LastFrame: at(97), GopMs: 2000, Codec: "h264", Width: 1280, Height: 720, Restarts: 2,
			LastExit: "signal: killed", LastExitAt: at(-3600)},
	}
}

func exCameraReport() CameraReport {
	cams := exCameraStatuses()
	for i := range cams {
		cams[i].LastFrame, cams[i].FPS, cams[i].BitrateBps, cams[i].PrerollMs, cams[i].PrerollBytes = time.Time{}, 0, 0, 0, 0
	}
	return CameraReport{V: SchemaVersion, Kiosk: exKiosk, BootEpoch: exEpoch, Time: at(100), Cameras: cams}
}

func exClip(state string) Clip {
	c := Clip{ID: exClipID, Camera: "door", State: state, Start: exT0.Add(-11200 * time.Millisecond), BeforePress: 11200}
	if state != "recording" {
		c.End, c.DurationMs, c.Bytes = at(31), 42_160, 21_337_812
		c.SHA256 = "9f2b5c0e8d71a6430b1e9c2d7f5a8e3c6b0d4f1a2e9c8b7d6a5f4e3d2c1b0a99"
	}
	return c
}

// clipSteps are the clip events of the police call (incident exIncID).
func clipSteps() []eventStep {
	recording := exClip("recording")
	recording.Live = "rtsp://192.168.1.20:8554/door?token=1741948013.q3ZbX0m1cT9wK2aL5eR8uA"
	uploaded := exClip("uploaded")
	evicted := exClip("evicted")
	ready := exClip("ready")
	ready.Fetch = "https://10.8.0.20:8082/api/clips/" + exClipID + "?token=1741948045.Xk2Lq9vR4mT0aP7sW1eY3g"
	const url = "https://oss.example.cn/clips/post-0571-01/" + exClipID + ".mp4"
	return []eventStep{
		{typ: "clip.recording", sec: 0, incident: exIncID, data: map[string]any{"clip": recording}},
		{typ: "clip.ready", sec: 32, incident: exIncID, data: map[string]any{"clip": ready}},
		{typ: "clip.failed", sec: 2, incident: exIncID, data: map[string]any{"clip": Clip{ID: "clip-70d1c4e95a2b8f36",
			Camera: "counter", State: "failed", Error: "camera process ended: signal: killed"}}},
		{typ: "clip.upload_progress", sec: 405, incident: exIncID, data: map[string]any{"clip": exClip("acked"), "bytes_sent": 9_437_184, "bytes_total": 21_337_812}},
		{typ: "clip.uploaded", sec: 411, incident: exIncID, data: map[string]any{"clip": uploaded, "url": url, "attempts": 1}},
		{typ: "clip.upload_failed", sec: 420, incident: exIncID, data: map[string]any{"clip": exClip("acked"), "url": url,
			"reason": "object store answered 403 Forbidden", "attempts": 1}},
		{typ: "clip.evicted", sec: 86400 * 40, incident: exIncID, data: map[string]any{"clip": evicted, "reason": "low_disk",
			"platform_had": false, "free_bytes": 901_775_360, "low_disk_bytes": 1_073_741_824}},
		{typ: "camera.state", sec: 100, data: map[string]any{"camera": "counter", "state": "no_video", "problem": "connected, no frame for 3s"}},
	}
}

// exClipLinkCmd asks, an hour after the press, for the door clip again.
const exClipLinkCmd = "c-20250314-0010"

func exClipLinkReply(t *testing.T) Reply {
	c := exClip("ready")
	link := ClipLink{Clip: exClipID, Fetch: "https://10.8.0.20:8082/api/clips/" + exClipID + "?token=1741951613.b7Rf0Qz3Vn8Kc1Tx5Ma9Lw",
		Expires: at(7200), SHA256: c.SHA256, Bytes: c.Bytes}
	return Reply{V: SchemaVersion, Command: exClipLinkCmd, Kiosk: exKiosk, OK: true, Result: mustJSON(t, link)}
}
