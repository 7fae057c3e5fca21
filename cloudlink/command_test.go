package cloudlink

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"kioskd/cloudlink/contract"
	"kioskd/hack/brokertest"
)

// TestCommandsOverMQTT: every message on the command topic reaches the
// kiosk byte for byte, whatever it holds (checking it is the kiosk's), and
// the kiosk's reply is published as it gave it, with its error or result.
func TestCommandsOverMQTT(t *testing.T) {
	broker := brokertest.Start(t)
	cfg := testConfig(t, broker.URL())
	platform := brokertest.Connect(t, broker.URL())
	replies := platform.Subscribe(cfg.Topics.Replies())
	kiosk := newKiosk()
	link, _ := runLink(t, cfg, newOutbox(), kiosk)
	waitFor(t, "connected", func() bool { return link.Status().Connected })

	link1 := json.RawMessage(`{"clip":"c","fetch":"https://10.8.0.20:8082/api/clips/c?token=1.x"}`)
	tests := []struct {
		name      string
		payload   string
		kioskSays *contract.ReplyError
		result    json.RawMessage
		wantID    string
		wantCode  string // "" for OK
	}{
		{"valid", seal(`{"v":1,"id":"c1","kiosk":"kiosk-test-1","name":"accept","args":{"incident":"i1","responder":"pc-7"},"counter":1}`),
			nil, nil, "c1", ""},
		{"kiosk refuses", seal(`{"v":1,"id":"c2","kiosk":"kiosk-test-1","name":"close","args":{"incident":"i9"},"counter":2}`),
			&contract.ReplyError{Code: contract.ErrNotFound, Message: "no incident i9"}, nil, "c2", contract.ErrNotFound},
		{"with a result", seal(`{"v":1,"id":"l1","kiosk":"kiosk-test-1","name":"clip_link","args":{"incident":"i","clip":"c"},"counter":3}`),
			nil, link1, "l1", ""},
		{"malformed", `{"v":1,"id":`, &contract.ReplyError{Code: contract.ErrMalformed, Message: "not JSON"}, nil, "", contract.ErrMalformed},
		{"forged", string(sealRaw(otherKey, []byte(`{"v":1,"id":"c5","kiosk":"kiosk-test-1","name":"accept","counter":5}`))),
			&contract.ReplyError{Code: contract.ErrBadSignature, Message: "forged"}, nil, "c5", contract.ErrBadSignature},
	}
	for i, tt := range tests {
		kiosk.mu.Lock()
		kiosk.reply, kiosk.result = tt.kioskSays, tt.result
		kiosk.mu.Unlock()
		platform.Publish(cfg.Topics.Commands(), []byte(tt.payload), false)

		m := brokertest.Next(t, replies, waitLong)
		var got contract.Reply
		if err := json.Unmarshal(m.Payload, &got); err != nil {
			t.Fatalf("%s: reply %q: %v", tt.name, m.Payload, err)
		}
		gotCode := ""
		if got.Error != nil {
			gotCode = got.Error.Code
		}
		if got.V != contract.SchemaVersion || got.Kiosk != testKiosk || got.Command != tt.wantID ||
			got.OK != (tt.wantCode == "") || gotCode != tt.wantCode || !bytes.Equal(got.Result, tt.result) {
			t.Errorf("%s: got reply %s, want command %q code %q result %s", tt.name, m.Payload, tt.wantID, tt.wantCode, tt.result)
		}
		received := kiosk.received()
		if len(received) != i+1 || string(received[i]) != tt.payload {
			t.Fatalf("%s: the kiosk got %d payloads, the last %q; want %d, the last as sent", tt.name, len(received), received[len(received)-1], i+1)
		}
	}
}

// TestCamerasReport: the kiosk's camera report is published retained at
// connect, and again after a Notify when it changed, not when it did not.
func TestCamerasReport(t *testing.T) {
	broker := brokertest.Start(t)
	cfg := testConfig(t, broker.URL())
	kiosk := newKiosk()
	link, _ := runLink(t, cfg, newOutbox(), kiosk)
	waitFor(t, "connected", func() bool { return link.Status().Connected })
	late := brokertest.Connect(t, broker.URL()).Subscribe(cfg.Topics.Cameras())
	m := brokertest.Next(t, late, waitLong)
	if want, _ := json.Marshal(kiosk.Cameras()); !m.Retained || !bytes.Equal(m.Payload, want) {
		t.Fatalf("at connect: got %s (retained %v), want %s retained", m.Payload, m.Retained, want)
	}
	link.Notify()
	expectNone(t, late, 300*time.Millisecond)
	changed := kiosk.Cameras()
	changed.Cameras = []contract.CameraStatus{{ID: "door", State: "online"}}
	kiosk.setCameras(changed)
	link.Notify()
	m = brokertest.Next(t, late, waitLong)
	if want, _ := json.Marshal(changed); !bytes.Equal(m.Payload, want) {
		t.Errorf("after a change: got %s, want %s", m.Payload, want)
	}
}
