package firmware

import (
	"encoding/json"
	"testing"

	"kioskd/cloudlink/contract"
)

// The clip commands' args are checked by the dispatcher before they reach
// the cameras: args that do not name what the command needs are bad_args.
func TestClipCommandBadArgs(t *testing.T) {
	tb := newTestBridge(t) // no camera set: the args are refused before it is asked
	for i, raw := range []string{`{"incident":"x"}`, `[]`} {
		cmd := contract.Command{V: 1, ID: "cmd-" + raw, Kiosk: "sec-kiosk", Name: contract.CmdClipLink, Args: json.RawMessage(raw), Counter: uint64(i + 1)}
		if res, rerr := tb.answer(t.Context(), cmd); rerr == nil || rerr.Code != contract.ErrBadArgs || res != nil {
			t.Errorf("clip_link %s = %s, %v; want bad_args", raw, res, rerr)
		}
	}
	cmd := contract.Command{V: 1, ID: "cmd-upload", Kiosk: "sec-kiosk", Name: contract.CmdUploadClip, Args: json.RawMessage(`{"incident":"x"}`), Counter: 3}
	if rerr := tb.command(t.Context(), cmd); rerr == nil || rerr.Code != contract.ErrBadArgs {
		t.Errorf("upload_clip {incident:x} = %v, want bad_args", rerr)
	}
}
