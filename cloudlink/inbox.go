package cloudlink

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"kioskd/cloudlink/contract"
)

// Incoming messages. paho calls the handlers one at a time, in arrival order
// (SetOrderMatters(true)), on its router goroutine, and acks each QoS 1
// message to the broker once its handler returns. While a handler runs,
// paho reads nothing from the connection: no PUBACK and no PINGRESP (net.go
// in v1.5.1 hands publishes to the router unbuffered). So a handler never
// waits: it hands the payload to a buffered channel and returns. A session
// waiting for a PUBACK while a handler waited for that session would hang
// until OpTimeout and lose the connection.
//
// When a channel is full the message is not lost in silence:
//   - a command goes to the busy queue, whose goroutine answers it `busy`
//     (nothing applied, its counter not spent: re-send it); if that is full
//     too, it is dropped, logged and counted, and the platform re-sends it
//     after its reply timeout, as the contract asks of it;
//   - an ack is dropped, logged and counted: the events it names stay in
//     flight and are sent again after AckTimeout, and the platform acks them
//     again, as it does every duplicate.
const (
	commandQueue = 64   // commands waiting to be applied, in arrival order
	busyQueue    = 256  // commands waiting for a busy reply
	ackQueue     = 1024 // ack messages waiting to be checked
)

// onCommand is paho's handler for the command topic: hand the payload over.
func (s *session) onCommand(_ mqtt.Client, m mqtt.Message) {
	p := m.Payload()
	select {
	case s.cmds <- p:
		return
	default:
	}
	select {
	case s.busy <- p:
	default:
		s.l.drops.note(s.l, "command", "command and busy queues full; the platform must re-send")
	}
}

// runBusy answers `busy` to the commands that found the command queue full,
// until the session ends. It reads only the command's claimed id: nothing
// about the command is trusted or applied.
func (s *session) runBusy() {
	for {
		select {
		case p := <-s.busy:
			s.answerBusy(p)
		case <-s.done:
			return
		}
	}
}

func (s *session) answerBusy(payload []byte) {
	cmd, err := contract.DecodeUnsignedCommand(payload)
	if err != nil || cmd.ID == "" {
		s.l.drops.note(s.l, "command", "command queue full; an unreadable command gets no busy reply")
		return
	}
	s.l.busy.Add(1)
	reply := contract.Reply{V: contract.SchemaVersion, Command: cmd.ID, Kiosk: s.cfg.KioskID,
		Error: replyError(contract.ErrBusy, "%d commands are waiting; this one was not applied and its counter is not spent: re-send it", commandQueue)}
	b, err := json.Marshal(reply)
	if err != nil {
		s.l.log.Error("cloudlink: encode busy reply", "command", cmd.ID, "err", err)
		return
	}
	tok := s.client.Publish(s.cfg.Topics.Replies(), 1, false, b)
	if err := s.wait(context.Background(), tok, "publish busy reply"); err != nil {
		s.fail(err)
	}
}

// dropCount counts incoming messages dropped for a full queue and logs them
// at most once per dropLogEvery, so that a flood cannot flood the log.
type dropCount struct {
	mu      sync.Mutex
	total   uint64
	logged  time.Time
	pending int
}

const dropLogEvery = 10 * time.Second

func (d *dropCount) note(l *Link, what, why string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.total++
	d.pending++
	if now := time.Now(); now.Sub(d.logged) >= dropLogEvery {
		l.log.Warn("cloudlink: dropped incoming "+what, "count", d.pending, "total", d.total, "why", why)
		d.logged, d.pending = now, 0
	}
}

func (d *dropCount) count() uint64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.total
}

func replyError(code, format string, args ...any) *contract.ReplyError {
	return &contract.ReplyError{Code: code, Message: fmt.Sprintf(format, args...)}
}
