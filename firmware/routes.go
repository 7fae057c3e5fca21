package firmware

import (
	"context"
	"encoding/json"
	"errors"

	"kioskd/cloudlink/contract"
	"kioskd/firmware/commands"
	"kioskd/kiosk"
)

// routes is the command table: each command of the contract and what does
// it. The dispatcher (firmware/commands) has admitted the command and
// checked its args before a handler runs.
func (b *bridge) routes() commands.Table {
	return commands.Table{
		contract.CmdAccept: commands.Handle(func(ctx context.Context, _ contract.Command, a contract.AcceptArgs) *contract.ReplyError {
			return b.submit(ctx, kiosk.Accept{Incident: a.Incident, Responder: a.Responder, CallbackBy: a.CallbackBy})
		}),
		contract.CmdMessage: commands.Handle(func(ctx context.Context, _ contract.Command, a contract.MessageArgs) *contract.ReplyError {
			return b.submit(ctx, kiosk.SendMessage{Incident: a.Incident, From: a.From, Text: a.Text})
		}),
		contract.CmdEscalate: commands.Handle(func(ctx context.Context, _ contract.Command, a contract.EscalateArgs) *contract.ReplyError {
			return b.submit(ctx, kiosk.Escalate{Incident: a.Incident, By: a.By, Reason: a.Reason})
		}),
		contract.CmdClose: commands.Handle(func(ctx context.Context, _ contract.Command, a contract.CloseArgs) *contract.ReplyError {
			return b.submit(ctx, kiosk.Close{Incident: a.Incident, By: a.By, Outcome: a.Outcome})
		}),
		contract.CmdAcknowledgeRecovery: commands.Handle(func(ctx context.Context, _ contract.Command, a contract.AcknowledgeRecoveryArgs) *contract.ReplyError {
			return b.submit(ctx, kiosk.AcknowledgeRecovery{By: a.By, Note: a.Note})
		}),
		contract.CmdUploadClip: commands.Handle(b.uploadClipCommand),
		contract.CmdClipLink:   commands.HandleWithResult(b.clipLinkCommand).OnBadArgs(clipLinkBadArgs),
		contract.CmdSelfTest:   commands.Handle(b.selfTestCommand),
		contract.CmdUpdate:     commands.Handle(b.updateCommand).OnBadArgs(b.updateBadArgs),
	}
}

// submit hands a command's input to the controller: nil once journaled.
func (b *bridge) submit(ctx context.Context, in kiosk.Input) *contract.ReplyError {
	if _, err := b.controller.Submit(ctx, in); err != nil {
		return &contract.ReplyError{Code: replyCode(err), Message: err.Error()}
	}
	return nil
}

func replyCode(err error) string {
	switch {
	case errors.Is(err, kiosk.ErrNotFound):
		return contract.ErrNotFound
	case errors.Is(err, kiosk.ErrRejected):
		return contract.ErrRejected
	case errors.Is(err, kiosk.ErrBadInput):
		return contract.ErrBadArgs
	}
	return contract.ErrInternal
}

// The handlers below adapt the table to the cameras and the upkeep.

func (b *bridge) uploadClipCommand(_ context.Context, cmd contract.Command, _ contract.UploadClipArgs) *contract.ReplyError {
	return b.uploadClip(cmd) // camera_wiring.go
}

func (b *bridge) clipLinkCommand(_ context.Context, cmd contract.Command, _ contract.ClipLinkArgs) (json.RawMessage, *contract.ReplyError) {
	if b.cameras == nil {
		return nil, &contract.ReplyError{Code: contract.ErrNotFound, Message: "no clips on this kiosk"}
	}
	return b.cameras.clipLink(cmd.Args) // clip_fetch.go
}

// clipLinkBadArgs says what clip_link's args must name.
func clipLinkBadArgs(_ context.Context, _ contract.Command, err error) *contract.ReplyError {
	return &contract.ReplyError{Code: contract.ErrBadArgs, Message: "args must name incident and clip: " + err.Error()}
}

func (b *bridge) selfTestCommand(context.Context, contract.Command, contract.SelfTestArgs) *contract.ReplyError {
	if !b.upkeep.wantSelfTest("command") {
		return &contract.ReplyError{Code: contract.ErrRejected, Message: "a self-test is already waiting to run"}
	}
	return nil
}

func (b *bridge) updateCommand(ctx context.Context, cmd contract.Command, a contract.UpdateArgs) *contract.ReplyError {
	return b.upkeep.accept(ctx, cmd.ID, a)
}

// updateBadArgs journals update.rejected for an update whose args fail
// their checks, recorded without the args: a text over its limit is not kept.
func (b *bridge) updateBadArgs(ctx context.Context, cmd contract.Command, err error) *contract.ReplyError {
	return b.upkeep.reject(ctx, cmd.ID, contract.UpdateArgs{}, contract.UpdateBadArgs, err.Error())
}
