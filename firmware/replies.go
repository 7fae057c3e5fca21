package firmware

import (
	"context"
	"encoding/json"
	"fmt"

	"kioskd/cloudlink/contract"
)

// A platform re-sends a command that got no reply (the reply may have been
// lost, not the command). The kiosk must not apply it twice, and must not
// answer it with a refusal that reads as if it had failed: it answers the
// re-sent copy with the reply it gave the first one, which the journal's
// replay window keeps beside the counter (kiosk/journal/counter.go).

// storedReply is a reply as the window keeps it.
type storedReply struct {
	Result json.RawMessage      `json:"result,omitempty"`
	Error  *contract.ReplyError `json:"error,omitempty"`
}

// Answer is the link's way in for every command (cloudlink's Answerer). A
// command accepted before (same counter, same id) gets its first reply
// again, or `duplicate` when the kiosk stopped before it could keep that
// reply; it is never applied twice.
func (b *bridge) Answer(ctx context.Context, cmd contract.Command) (json.RawMessage, *contract.ReplyError) {
	if result, rerr, ok := b.repeatReply(cmd); ok {
		return result, rerr
	}
	result, rerr := b.dispatch(ctx, cmd)
	if rerr == nil || rerr.Code != contract.ErrDuplicate {
		b.keepReply(cmd, result, rerr)
	}
	return result, rerr
}

// repeatReply returns the reply to answer a re-sent command with; ok is
// false when cmd is not a command the window holds.
func (b *bridge) repeatReply(cmd contract.Command) (json.RawMessage, *contract.ReplyError, bool) {
	seen, ok, err := b.journal.CommandAdmitted(cmd.Counter)
	if err != nil || !ok || !seen.SameID(cmd.ID) {
		return nil, nil, false // admitCommand decides, and journals a refusal
	}
	b.log.Info("command re-sent: answering its first reply again", "command", cmd.ID, "counter", cmd.Counter, "name", cmd.Name)
	var r storedReply
	if len(seen.Reply) == 0 || json.Unmarshal(seen.Reply, &r) != nil {
		return nil, &contract.ReplyError{Code: contract.ErrDuplicate, Message: fmt.Sprintf(
			"command %s (counter %d) was accepted already and is not applied again; its reply is not known: read the state and events", cmd.ID, cmd.Counter)}, true
	}
	return r.Result, r.Error, true
}

// keepReply stores the reply of an admitted command in the window. The
// journal ignores it for a command that was never admitted.
func (b *bridge) keepReply(cmd contract.Command, result json.RawMessage, rerr *contract.ReplyError) {
	v, err := json.Marshal(storedReply{Result: result, Error: rerr})
	if err == nil {
		err = b.journal.RecordCommandReply(cmd.Counter, cmd.ID, v)
	}
	if err != nil {
		b.log.Warn("command reply not kept: a re-send of it will be answered duplicate", "command", cmd.ID, "err", err)
	}
}
