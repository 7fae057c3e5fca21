package commands

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

// firstReply returns the call that answers a re-sent command with its
// first reply, or `duplicate` when the kiosk stopped before it could keep
// that reply; ok is false when cmd is not a command the window holds.
func (d *Dispatcher) firstReply(cmd contract.Command) (first call, ok bool) {
	seen, ok, err := d.cfg.Journal.CommandAdmitted(cmd.Counter)
	if err != nil || !ok || !seen.SameID(cmd.ID) {
		return nil, false // spendCounter decides, and journals a refusal
	}
	d.cfg.Log.Info("command re-sent: answering its first reply again", "command", cmd.ID, "counter", cmd.Counter, "name", cmd.Name)
	var r storedReply
	if len(seen.Reply) == 0 || json.Unmarshal(seen.Reply, &r) != nil {
		rerr := &contract.ReplyError{Code: contract.ErrDuplicate, Message: fmt.Sprintf(
			"command %s (counter %d) was accepted already and is not applied again; its reply is not known: read the state and events", cmd.ID, cmd.Counter)}
		return func(context.Context) (json.RawMessage, *contract.ReplyError) { return nil, rerr }, true
	}
	return func(context.Context) (json.RawMessage, *contract.ReplyError) { return r.Result, r.Error }, true
}

// keepReply stores the reply of an admitted command in the window. The
// journal ignores it for a command that was never admitted, and for one
// whose reply it holds already.
func (d *Dispatcher) keepReply(cmd contract.Command, result json.RawMessage, rerr *contract.ReplyError) {
	v, err := json.Marshal(storedReply{Result: result, Error: rerr})
	if err == nil {
		err = d.cfg.Journal.RecordCommandReply(cmd.Counter, cmd.ID, v)
	}
	if err != nil {
		d.cfg.Log.Warn("command reply not kept: a re-send of it will be answered duplicate", "command", cmd.ID, "err", err)
	}
}
