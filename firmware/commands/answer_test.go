package commands

import (
	"encoding/json"
	"fmt"
	"testing"

	"kioskd/cloudlink/contract"
)

// A handler's result goes in an ok reply, and nothing in a refusal; a
// command without one replies without a result.
func TestReplyResult(t *testing.T) {
	const cmd = `{"v":1,"id":"l%d","kiosk":"kiosk-test-1","name":"clip_link","args":{"incident":"i","clip":"c"},"counter":%d}`
	link := json.RawMessage(`{"clip":"c","fetch":"https://10.8.0.20:8082/api/clips/c?token=1.x"}`)
	refusal := &contract.ReplyError{Code: contract.ErrNotFound, Message: "no such clip"}
	tests := []struct {
		name       string
		result     json.RawMessage
		refusal    *contract.ReplyError
		wantOK     bool
		wantResult string
	}{
		{"answered", link, nil, true, string(link)},
		{"refused", link, refusal, false, ""},
		{"no result", nil, nil, true, ""},
	}
	r := newRig(t, nil)
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r.set(tt.refusal, tt.result)
			reply, _ := r.answer(seal(fmt.Sprintf(cmd, i+1, i+1)))
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
