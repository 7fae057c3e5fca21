package cloudlink

import (
	"encoding/json"
	"testing"

	"kioskd/cloudlink/contract"
	"kioskd/hack/brokertest"
)

func TestCheckCommand(t *testing.T) {
	l := New(Config{KioskID: testKiosk}, newOutbox(), newKiosk(), nil)
	tests := []struct {
		name     string
		payload  string
		wantCode string // "" for accepted
		wantID   string
	}{
		{"accept", `{"v":1,"id":"c1","kiosk":"kiosk-test-1","name":"accept","args":{"incident":"i"}}`, "", "c1"},
		{"message", `{"v":1,"id":"c2","kiosk":"kiosk-test-1","name":"message"}`, "", "c2"},
		{"escalate", `{"v":1,"id":"c3","kiosk":"kiosk-test-1","name":"escalate"}`, "", "c3"},
		{"close", `{"v":1,"id":"c4","kiosk":"kiosk-test-1","name":"close"}`, "", "c4"},
		{"not json", `{"v":1,`, contract.ErrMalformed, ""},
		{"json null", `null`, contract.ErrMalformed, ""},
		{"no version", `{"id":"c5","kiosk":"kiosk-test-1","name":"accept"}`, contract.ErrMalformed, "c5"},
		{"no id", `{"v":1,"kiosk":"kiosk-test-1","name":"accept"}`, contract.ErrMalformed, ""},
		{"wrong kiosk", `{"v":1,"id":"c6","kiosk":"kiosk-other","name":"accept"}`, contract.ErrWrongKiosk, "c6"},
		{"unknown name", `{"v":1,"id":"c7","kiosk":"kiosk-test-1","name":"reboot"}`, contract.ErrUnknownCommand, "c7"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd, rerr := l.checkCommand([]byte(tt.payload))
			gotCode := ""
			if rerr != nil {
				gotCode = rerr.Code
			}
			if gotCode != tt.wantCode {
				t.Errorf("code: got %q (%v), want %q", gotCode, rerr, tt.wantCode)
			}
			if cmd.ID != tt.wantID {
				t.Errorf("id: got %q, want %q", cmd.ID, tt.wantID)
			}
		})
	}
}

func TestCommandsOverMQTT(t *testing.T) {
	broker := brokertest.Start(t)
	cfg := testConfig(t, broker.URL())
	platform := brokertest.Connect(t, broker.URL())
	replies := platform.Subscribe(cfg.Topics.Replies())
	kiosk := newKiosk()
	link, _ := runLink(t, cfg, newOutbox(), kiosk)
	waitFor(t, "connected", func() bool { return link.Status().Connected })

	tests := []struct {
		name      string
		payload   string
		kioskSays *contract.ReplyError
		wantID    string
		wantCode  string // "" for OK
		wantCalls int    // Kiosk.Command calls so far
	}{
		{"valid", `{"v":1,"id":"c1","kiosk":"kiosk-test-1","name":"accept","args":{"incident":"i1","responder":"pc-7"}}`,
			nil, "c1", "", 1},
		{"kiosk refuses", `{"v":1,"id":"c2","kiosk":"kiosk-test-1","name":"close","args":{"incident":"i9"}}`,
			&contract.ReplyError{Code: contract.ErrNotFound, Message: "no incident i9"}, "c2", contract.ErrNotFound, 2},
		{"malformed", `{"v":1,"id":`, nil, "", contract.ErrMalformed, 2},
		{"wrong kiosk", `{"v":1,"id":"c3","kiosk":"kiosk-other","name":"accept"}`, nil, "c3", contract.ErrWrongKiosk, 2},
		{"unknown name", `{"v":1,"id":"c4","kiosk":"kiosk-test-1","name":"selfdestruct"}`, nil, "c4", contract.ErrUnknownCommand, 2},
	}
	for _, tt := range tests {
		kiosk.mu.Lock()
		kiosk.reply = tt.kioskSays
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
			got.OK != (tt.wantCode == "") || gotCode != tt.wantCode {
			t.Errorf("%s: got reply %s, want command %q code %q", tt.name, m.Payload, tt.wantID, tt.wantCode)
		}
		if calls := len(kiosk.commands()); calls != tt.wantCalls {
			t.Errorf("%s: Kiosk.Command calls: got %d, want %d", tt.name, calls, tt.wantCalls)
		}
	}
	if cmds := kiosk.commands(); len(cmds) > 0 && string(cmds[0].Args) != `{"incident":"i1","responder":"pc-7"}` {
		t.Errorf("args handed to kiosk: got %s, want them as sent", cmds[0].Args)
	}
}
