package kiosk

import (
	"errors"
	"testing"
	"time"
)

func TestClipAndCameraEvents(t *testing.T) {
	now := time.Date(2025, 3, 14, 9, 26, 53, 0, time.UTC)
	clip := Clip{ID: "clip-1", Camera: "door", State: "ready"}
	tests := []struct {
		name      string
		in        Input
		wantType  string
		telemetry bool
		err       error
	}{
		{"ready", ClipEvent{Event: EvClipReady, Incident: "inc-1", Clip: clip}, EvClipReady, false, nil},
		{"progress is telemetry", ClipEvent{Event: EvClipUploadProgress, Incident: "inc-1", Clip: clip,
			Detail: map[string]any{"bytes_sent": 1, "bytes_total": 2}}, EvClipUploadProgress, true, nil},
		{"camera state is telemetry", CameraChanged{Camera: "door", State: "no_video"}, EvCameraState, true, nil},
		{"not a clip event", ClipEvent{Event: EvClosed, Incident: "inc-1", Clip: clip}, "", false, ErrBadInput},
		{"no incident", ClipEvent{Event: EvClipReady, Clip: clip}, "", false, ErrBadInput},
		{"no camera", CameraChanged{State: "online"}, "", false, ErrBadInput},
	}
	for _, tt := range tests {
		_, fx, err := Rules{}.Step(NewState(), tt.in, now)
		if !errors.Is(err, tt.err) {
			t.Errorf("%s: err = %v, want %v", tt.name, err, tt.err)
			continue
		}
		if tt.err != nil {
			continue
		}
		if len(fx.Records) != 1 || fx.Records[0].Type != tt.wantType || fx.Records[0].Telemetry != tt.telemetry || fx.Records[0].Urgent {
			t.Errorf("%s: records %+v, want one %s (telemetry %v)", tt.name, fx.Records, tt.wantType, tt.telemetry)
		}
		if len(fx.Snapshots) != 0 {
			t.Errorf("%s: %d snapshots, want none: clip events do not change the incident", tt.name, len(fx.Snapshots))
		}
	}
}
