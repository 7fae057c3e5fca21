package cloudlink

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"kioskd/cloudlink/contract"
)

// runCommands applies commands one at a time until the session ends. It runs
// on its own goroutine so that a slow journal write delays neither paho nor
// the shipping of events.
func (s *session) runCommands(ctx context.Context) {
	for {
		select {
		case p := <-s.cmds:
			s.command(ctx, p)
		case <-s.done:
			return
		}
	}
}

// command checks, applies and answers one command. Every command gets a reply.
func (s *session) command(ctx context.Context, payload []byte) {
	reply := s.l.answer(ctx, payload)
	b, err := json.Marshal(reply)
	if err != nil {
		s.l.log.Error("cloudlink: encode reply", "command", reply.Command, "err", err)
		return
	}
	// Not ctx: a reply to a command applied during shutdown still goes out.
	tok := s.client.Publish(s.cfg.Topics.Replies(), 1, false, b)
	if err := s.wait(context.Background(), tok, "publish reply"); err != nil {
		s.fail(err)
	}
}

// answer checks one command payload, hands it to the kiosk if it passes, and
// returns the reply to send. It does no network I/O beyond what the kiosk does.
func (l *Link) answer(ctx context.Context, payload []byte) contract.Reply {
	var result json.RawMessage
	cmd, rerr := l.checkCommand(payload)
	if r, ok := l.kiosk.(CommandRefuser); rerr != nil && ok && rerr.Code != contract.ErrUnknownCommand {
		r.CommandRefused(ctx, cmd, rerr) // records and logs it
	} else if rerr != nil {
		l.log.Warn("cloudlink: refusing command", "id", cmd.ID, "code", rerr.Code, "reason", rerr.Message)
	} else if result, rerr = l.apply(ctx, cmd); rerr != nil && rerr.Code == "" {
		coded := *rerr // a copy: the kiosk may share its errors
		coded.Code = contract.ErrInternal
		rerr = &coded // the platform needs a code to act on
	}
	return contract.Reply{
		V:       contract.SchemaVersion,
		Command: cmd.ID,
		Kiosk:   l.cfg.KioskID,
		OK:      rerr == nil,
		Error:   rerr,
		Result:  result,
	}
}

// apply hands a checked command to the kiosk: to its Answer when it has
// one, so that the reply can carry a result.
func (l *Link) apply(ctx context.Context, cmd contract.Command) (json.RawMessage, *contract.ReplyError) {
	if a, ok := l.kiosk.(Answerer); ok {
		result, rerr := a.Answer(ctx, cmd)
		if rerr != nil {
			result = nil // a refused command returns nothing
		}
		return result, rerr
	}
	return nil, l.kiosk.Command(ctx, cmd)
}

// checkCommand verifies a command's signature (see contract.OpenCommand) and
// checks its envelope, address and name. Counter and expiry are the kiosk's
// to check: they need its durable state.
func (l *Link) checkCommand(payload []byte) (contract.Command, *contract.ReplyError) {
	cmd, err := l.openCommand(payload)
	if err != nil {
		var rerr *contract.ReplyError
		if !errors.As(err, &rerr) {
			rerr = replyError(contract.ErrMalformed, "%v", err)
		}
		return cmd, rerr
	}
	if cmd.Kiosk != l.cfg.KioskID {
		return cmd, replyError(contract.ErrWrongKiosk, "addressed to kiosk %q, this is %q", cmd.Kiosk, l.cfg.KioskID)
	}
	switch cmd.Name {
	case contract.CmdAccept, contract.CmdMessage, contract.CmdEscalate, contract.CmdClose, contract.CmdUploadClip,
		contract.CmdSelfTest, contract.CmdUpdate, contract.CmdClipLink, contract.CmdAcknowledgeRecovery:
		return cmd, nil
	}
	return cmd, replyError(contract.ErrUnknownCommand, "unknown command %q", cmd.Name)
}

// openCommand verifies and decodes a payload; with no keys it refuses
// everything, unless unsigned commands are allowed (development only).
func (l *Link) openCommand(payload []byte) (contract.Command, error) {
	if len(l.cfg.CommandKeys) == 0 && l.cfg.AllowUnsigned {
		return contract.DecodeUnsignedCommand(payload)
	}
	return contract.OpenCommand(payload, l.cfg.CommandKeys)
}

func replyError(code, format string, args ...any) *contract.ReplyError {
	return &contract.ReplyError{Code: code, Message: fmt.Sprintf(format, args...)}
}
