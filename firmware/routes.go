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
		contract.CmdUploadClip: commands.Handle(func(ctx context.Context, cmd contract.Command, a contract.UploadClipArgs) *contract.ReplyError {
			return b.cameras.UploadClip(ctx, cmd.ID, a)
		}),
		contract.CmdClipLink: commands.HandleWithResult(func(ctx context.Context, _ contract.Command, a contract.ClipLinkArgs) (json.RawMessage, *contract.ReplyError) {
			return b.cameras.ClipLink(ctx, a)
		}).OnBadArgs(clipLinkBadArgs),
		contract.CmdSelfTest: commands.Handle(func(ctx context.Context, _ contract.Command, a contract.SelfTestArgs) *contract.ReplyError {
			return b.upkeep.SelfTestCommand(ctx, a)
		}),
		contract.CmdUpdate: commands.Handle(func(ctx context.Context, cmd contract.Command, a contract.UpdateArgs) *contract.ReplyError {
			return b.upkeep.UpdateCommand(ctx, cmd.ID, a)
		}).OnBadArgs(func(ctx context.Context, cmd contract.Command, err error) *contract.ReplyError {
			return b.upkeep.UpdateBadArgs(ctx, cmd.ID, err)
		}),
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

// clipLinkBadArgs says what clip_link's args must name.
func clipLinkBadArgs(_ context.Context, _ contract.Command, err error) *contract.ReplyError {
	return &contract.ReplyError{Code: contract.ErrBadArgs, Message: "args must name incident and clip: " + err.Error()}
}
