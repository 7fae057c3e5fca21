package cloudlink

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"testing"

	"kioskd/cloudlink/contract"
)

// answeringKiosk is a fakeKiosk whose commands return a result.
type answeringKiosk struct {
	*fakeKiosk
	result json.RawMessage
}

func (k *answeringKiosk) Answer(ctx context.Context, cmd contract.Command) (json.RawMessage, *contract.ReplyError) {
	return k.result, k.Command(ctx, cmd)
}

// A kiosk with Answer puts its result in an ok reply, and nothing in a
// refusal; a kiosk without it replies as before.
func TestReplyResult(t *testing.T) {
	const cmd = `{"v":1,"id":"l1","kiosk":"kiosk-test-1","name":"clip_link","args":{"incident":"i","clip":"c"},"counter":1}`
	link := json.RawMessage(`{"clip":"c","fetch":"https://10.8.0.20:8082/api/clips/c?token=1.x"}`)
	refusal := &contract.ReplyError{Code: contract.ErrNotFound, Message: "no such clip"}
	tests := []struct {
		name       string
		kiosk      Kiosk
		wantOK     bool
		wantResult string
	}{
		{"answered", &answeringKiosk{fakeKiosk: newKiosk(), result: link}, true, string(link)},
		{"refused", &answeringKiosk{fakeKiosk: &fakeKiosk{reply: refusal}, result: link}, false, ""},
		{"no Answer", newKiosk(), true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := New(Config{KioskID: testKiosk, CommandKeys: []ed25519.PublicKey{testKey.Public().(ed25519.PublicKey)}},
				newOutbox(), tt.kiosk, nil)
			reply := l.answer(context.Background(), []byte(seal(cmd)))
			if reply.OK != tt.wantOK || string(reply.Result) != tt.wantResult {
				t.Errorf("reply ok %v, result %s; want %v, %q", reply.OK, reply.Result, tt.wantOK, tt.wantResult)
			}
			b, err := json.Marshal(reply)
			if err != nil {
				t.Fatal(err)
			}
			var wire map[string]json.RawMessage
			json.Unmarshal(b, &wire)
			if _, has := wire["result"]; has != (tt.wantResult != "") {
				t.Errorf("reply on the wire %s: result present %v, want %v", b, has, tt.wantResult != "")
			}
		})
	}
}
