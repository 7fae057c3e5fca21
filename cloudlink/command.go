package cloudlink

import (
	"context"
	"encoding/json"
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

// command hands one command to the kiosk and publishes its reply. Every
// command gets a reply.
func (s *session) command(ctx context.Context, payload []byte) {
	reply := s.l.kiosk.Command(ctx, payload)
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
