package devices

import (
	"encoding/json"
	"testing"
	"time"
)

func TestClipOrderCheck(t *testing.T) {
	tests := []struct {
		name  string
		order ClipOrder
		ok    bool
	}{
		{"clip", ClipOrder{Op: OpClip, ID: "c1", Path: "/clips/c1.mp4", AgeMs: 20}, true},
		{"clip without path", ClipOrder{Op: OpClip, ID: "c1"}, false},
		{"clip with negative age", ClipOrder{Op: OpClip, ID: "c1", Path: "p", AgeMs: -1}, false},
		{"extend", ClipOrder{Op: OpExtend, ID: "c1", ByMs: 5000}, true},
		{"extend by nothing", ClipOrder{Op: OpExtend, ID: "c1"}, false},
		{"finish", ClipOrder{Op: OpFinish, ID: "c1"}, true},
		{"no id", ClipOrder{Op: OpFinish}, false},
		{"unknown op", ClipOrder{Op: "rewind", ID: "c1"}, false},
	}
	for _, tt := range tests {
		if err := tt.order.Check(); (err == nil) != tt.ok {
			t.Errorf("%s: Check() = %v, want ok %v", tt.name, err, tt.ok)
		}
	}
}

func TestClipOrderWindow(t *testing.T) {
	pre, post, limit := ClipOrder{}.Window()
	if pre != DefaultPreRoll || post != DefaultPostRoll || limit != DefaultClipCap {
		t.Errorf("defaults: got %v %v %v", pre, post, limit)
	}
	_, post, limit = ClipOrder{PostRollMs: 30000, CapMs: 10000}.Window()
	if post != 30*time.Second || limit != 30*time.Second {
		t.Errorf("cap below post-roll: got post %v cap %v, want the cap raised to the post-roll", post, limit)
	}
}

// TestCameraMessages: what the child writes, the parent reads back.
func TestCameraMessages(t *testing.T) {
	now := time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)
	health := CameraHealth{Type: MessageHealth, Camera: "door", State: CameraNoVideo, Problem: "no video for 3s",
		Connected: true, LastFrame: now, FPS: 0, Codec: "h264", Width: 1920, Height: 1080, Reconnects: 2,
		PrerollBytes: 6 << 20, PrerollMs: 11000, GopMs: 2000}
	clip := ClipReport{Type: MessageClip, ID: "c1", State: ClipReady, Start: now, End: now.Add(30 * time.Second),
		DurationMs: 30000, Bytes: 15 << 20, SHA256: "ab12", KeyframeBeforePressMs: 10500, Cut: "camera lost"}
	for _, v := range []any{health, clip} {
		line, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		m, err := ParseCameraMessage(line)
		switch {
		case err != nil:
			t.Errorf("%s: %v", line, err)
		case m.Health != nil && *m.Health != health:
			t.Errorf("health: got %+v, want %+v", *m.Health, health)
		case m.Clip != nil && *m.Clip != clip:
			t.Errorf("clip: got %+v, want %+v", *m.Clip, clip)
		}
	}
	if _, err := ParseCameraMessage([]byte(`{"type":"gossip"}`)); err == nil {
		t.Error("an unknown message type parsed")
	}
	var zero CameraHealth
	line, _ := json.Marshal(CameraHealth{Type: MessageHealth})
	if json.Unmarshal(line, &zero); !zero.LastFrame.IsZero() {
		t.Errorf("a health without frames says last_frame %v", zero.LastFrame)
	}
}
