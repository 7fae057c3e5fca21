package firmware

import (
	"encoding/json"
	"testing"

	"kioskd/cloudlink/contract"
)

// The clip commands' args are decoded before they reach the cameras:
// args that do not name what the command needs are bad_args.
func TestClipCommandBadArgs(t *testing.T) {
	b := &bridge{} // no camera set: the args are refused before it is asked
	for _, raw := range []string{`{"incident":"x"}`, `[]`} {
		cmd := contract.Command{ID: "cmd-1", Name: contract.CmdClipLink, Args: json.RawMessage(raw)}
		if res, rerr := b.clipLink(t.Context(), cmd); rerr == nil || rerr.Code != contract.ErrBadArgs || res != nil {
			t.Errorf("clip_link %s = %s, %v; want bad_args", raw, res, rerr)
		}
	}
	cmd := contract.Command{ID: "cmd-2", Name: contract.CmdUploadClip, Args: json.RawMessage(`{"incident":"x"}`)}
	if rerr := b.uploadClip(t.Context(), cmd); rerr == nil || rerr.Code != contract.ErrBadArgs {
		t.Errorf("upload_clip {incident:x} = %v, want bad_args", rerr)
	}
}
