package cloudlink

import (
	"context"
	"encoding/json"
	"fmt"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"kioskd/cloudlink/contract"
)

// onCommand is paho's handler for the command topic: hand the payload over.
func (s *session) onCommand(_ mqtt.Client, m mqtt.Message) {
	select {
	case s.cmds <- m.Payload():
	case <-s.done:
	}
}

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
// returns the reply to send. It does no network I/O.
func (l *Link) answer(ctx context.Context, payload []byte) contract.Reply {
	cmd, rerr := l.checkCommand(payload)
	if rerr != nil {
		l.log.Warn("cloudlink: refusing command", "id", cmd.ID, "code", rerr.Code, "reason", rerr.Message)
	} else if rerr = l.kiosk.Command(ctx, cmd); rerr != nil && rerr.Code == "" {
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
	}
}

// checkCommand decodes a command and checks its envelope, address and name.
func (l *Link) checkCommand(payload []byte) (contract.Command, *contract.ReplyError) {
	var cmd contract.Command
	if err := json.Unmarshal(payload, &cmd); err != nil {
		return cmd, replyError(contract.ErrMalformed, "not a JSON command: %v", err)
	}
	switch {
	case cmd.V != contract.SchemaVersion:
		return cmd, replyError(contract.ErrMalformed, "schema version %d, want %d", cmd.V, contract.SchemaVersion)
	case cmd.ID == "":
		return cmd, replyError(contract.ErrMalformed, "missing id")
	case cmd.Kiosk != l.cfg.KioskID:
		return cmd, replyError(contract.ErrWrongKiosk, "addressed to kiosk %q, this is %q", cmd.Kiosk, l.cfg.KioskID)
	}
	switch cmd.Name {
	case contract.CmdAccept, contract.CmdMessage, contract.CmdEscalate, contract.CmdClose:
		return cmd, nil
	}
	return cmd, replyError(contract.ErrUnknownCommand, "unknown command %q", cmd.Name)
}

func replyError(code, format string, args ...any) *contract.ReplyError {
	return &contract.ReplyError{Code: code, Message: fmt.Sprintf(format, args...)}
}
