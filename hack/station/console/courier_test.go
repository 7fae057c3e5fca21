package console

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"kioskd/cloudlink/contract"
	"kioskd/hack/brokertest"
)

// TestCommandsOneAtATime: two commands sent at once to one kiosk go out one
// at a time: the second only once the first is answered. A command with no
// reply is sent again, the same message, after ResendAfter; one answered
// busy too. Another kiosk's commands do not wait for this one's.
func TestCommandsOneAtATime(t *testing.T) {
	const resend = 400 * time.Millisecond
	broker := brokertest.Start(t)
	pub, priv, _ := ed25519.GenerateKey(nil)
	c, err := Open(Config{Broker: broker.URL(), Key: priv, ResendAfter: resend,
		ClientID: "test-courier", DBPath: filepath.Join(t.TempDir(), "station.db"),
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done; c.Close() })
	waitFor(t, "the console to subscribe", c.Connected)

	kiosk := brokertest.Connect(t, broker.URL())
	cmds := kiosk.Subscribe("gongzhi/v1/k1/cmd")
	other := kiosk.Subscribe("gongzhi/v1/k2/cmd")
	reply := func(m brokertest.Message, code string) contract.Command {
		t.Helper()
		cmd, err := contract.OpenCommand(m.Payload, []ed25519.PublicKey{pub})
		if err != nil {
			t.Fatal(err)
		}
		r := contract.Reply{V: 1, Command: cmd.ID, Kiosk: cmd.Kiosk, OK: code == ""}
		if code != "" {
			r.Error = &contract.ReplyError{Code: code, Message: code}
		}
		b, _ := json.Marshal(r)
		kiosk.Publish("gongzhi/v1/"+cmd.Kiosk+"/cmd/reply", b, false)
		return cmd
	}
	a, _ := c.Send("k1", contract.CmdAccept, contract.AcceptArgs{Incident: "inc-1", Responder: "王警官"})
	b, _ := c.Send("k1", contract.CmdMessage, contract.MessageArgs{Incident: "inc-1", From: "王警官", Text: "请稍候"})
	first := brokertest.Next(t, cmds, waitLong)
	k2, _ := c.Send("k2", contract.CmdAccept, contract.AcceptArgs{Incident: "inc-9", Responder: "李警官"})
	if got := reply(brokertest.Next(t, other, waitLong), ""); got.ID != k2.ID {
		t.Errorf("k2 got %s, want %s at once: another kiosk's command waited", got.ID, k2.ID)
	}
	again := brokertest.Next(t, cmds, 3*resend) // no reply to the first: the same message again
	if !bytes.Equal(again.Payload, first.Payload) {
		t.Fatalf("after no reply k1 got another message, want the first again:\n%s\n%s", again.Payload, first.Payload)
	}
	if got := reply(again, contract.ErrBusy); got.ID != a.ID {
		t.Fatalf("k1's first command is %s, want %s", got.ID, a.ID)
	}
	if busyAgain := brokertest.Next(t, cmds, 3*resend+busyPause); !bytes.Equal(busyAgain.Payload, first.Payload) {
		t.Fatal("after busy k1 got another message, want the first again")
	} else {
		reply(busyAgain, "")
	}
	if got := reply(brokertest.Next(t, cmds, waitLong), ""); got.ID != b.ID {
		t.Errorf("k1's second message is %s, want %s", got.ID, b.ID)
	}
	waitFor(t, "both outcomes ok", func() bool {
		return c.outcome(a.ID) == "ok" && c.outcome(b.ID) == "ok"
	})
}

func (c *Console) outcome(id string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s := c.commands[id]; s != nil {
		return s.Outcome(time.Now())
	}
	return ""
}
