package firmware

import (
	"context"
	"encoding/json"

	"kioskd/cloudlink/contract"
	"kioskd/firmware/cameras"
	"kioskd/kiosk/journal"
)

// The link's side of the cameras (firmware/cameras): the retained report,
// clip acks and the two clip commands, their args decoded here.

// Cameras is the retained camera report the cloud link publishes.
func (b *bridge) Cameras() contract.CameraReport {
	return b.cameras.Report(b.journal.KioskID(), b.journal.BootEpoch())
}

// noteClipAcks marks acked the clips whose end or upload the platform
// just acknowledged.
func (b *bridge) noteClipAcks(acked []journal.Event) {
	cameras.NoteAcks(b.journal, acked, b.log)
}

// uploadClip answers the upload_clip command.
func (b *bridge) uploadClip(ctx context.Context, cmd contract.Command) *contract.ReplyError {
	var a contract.UploadClipArgs
	if err := contract.DecodeArgs(cmd.Args, &a); err != nil {
		return &contract.ReplyError{Code: contract.ErrBadArgs, Message: "args must name incident, clip and url: " + err.Error()}
	}
	return b.cameras.UploadClip(ctx, cmd.ID, a)
}

// clipLink answers the clip_link command: a fresh fetch URL in the
// reply's result.
func (b *bridge) clipLink(ctx context.Context, cmd contract.Command) (json.RawMessage, *contract.ReplyError) {
	var a contract.ClipLinkArgs
	if err := contract.DecodeArgs(cmd.Args, &a); err != nil {
		return nil, &contract.ReplyError{Code: contract.ErrBadArgs, Message: "args must name incident and clip: " + err.Error()}
	}
	return b.cameras.ClipLink(ctx, a)
}

// dispatch is Command with a result for the reply: clip_link's fresh URL.
// Answer (replies.go) calls it for every command the link hands over.
func (b *bridge) dispatch(ctx context.Context, cmd contract.Command) (json.RawMessage, *contract.ReplyError) {
	if cmd.Name != contract.CmdClipLink {
		return nil, b.Command(ctx, cmd)
	}
	if rerr := b.admitCommand(ctx, cmd); rerr != nil {
		return nil, rerr
	}
	return b.clipLink(ctx, cmd)
}
