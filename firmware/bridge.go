package firmware

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"kioskd/cloudlink/contract"
	"kioskd/firmware/cameras"
	"kioskd/firmware/upkeep"
	"kioskd/kiosk"
	"kioskd/kiosk/journal"
)

// bridge joins the cloud link to the journal and the controller: it is the
// link's Outbox and Kiosk. kiosk and cloudlink never import each other; the
// translation between their types lives here and only here.
type bridge struct {
	journal    *journal.Journal
	controller *kiosk.Controller
	clock      *kiosk.Clock
	alarmPath  func() error // nil when a press would be journaled and relayed
	started    time.Time
	log        *slog.Logger
	refusals   refusalLimit   // security events journaled per minute; see security.go
	cameras    *cameras.Set   // see camera_wiring.go
	upkeep     *upkeep.Upkeep // self-tests and updates; see upkeep_wiring.go

	ackRefusals refusalLimit // refused acks journaled per minute; see ack_security.go
}

// Pending returns waiting events in seq order.
func (b *bridge) Pending(afterSeq uint64, limit int) ([]contract.Event, error) {
	return WireEvents(b.journal.Pending(afterSeq, limit))
}

// Urgent returns the waiting new alarms, to be sent before any backlog.
func (b *bridge) Urgent(limit int) ([]contract.Event, error) {
	return WireEvents(b.journal.Urgent(limit))
}

// WireEvents turns journal events into the contract's envelope, passing err
// through; hack/fleet and the benchmarks ship the journal the same way.
func WireEvents(events []journal.Event, err error) ([]contract.Event, error) {
	if err != nil {
		return nil, err
	}
	out := make([]contract.Event, len(events))
	for i, ev := range events {
		out[i] = WireEvent(ev)
	}
	return out, nil
}

// WireEvent is one journal event as the platform receives it.
func WireEvent(ev journal.Event) contract.Event {
	return contract.Event{
		V: contract.SchemaVersion, ID: ev.ID, Kiosk: ev.Kiosk, BootEpoch: ev.BootEpoch,
		Seq: ev.Seq, Type: ev.Type, Incident: ev.Incident, Time: ev.Time,
		ClockSynced: ev.ClockSynced, Data: ev.Data,
	}
}

// Ack removes the events from the outbox, then marks their incidents
// delivered. A crash between the two, or a controller too busy to take the
// Deliver in time, is mended by kiosk.Controller, which reconciles
// undelivered incidents with the outbox at start and every 30 s.
func (b *bridge) Ack(ids []string) error {
	acked, err := b.journal.Ack(ids)
	if err != nil {
		return err
	}
	b.noteClipAcks(acked)
	seen := map[string]bool{}
	for _, ev := range acked {
		if ev.Incident == "" || seen[ev.Incident] {
			continue
		}
		seen[ev.Incident] = true
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err := b.controller.Submit(ctx, kiosk.Deliver{Incident: ev.Incident})
		cancel()
		if err != nil {
			b.log.Error("mark delivered", "incident", ev.Incident, "err", err)
		}
	}
	return nil
}

// Command turns a platform command into a controller input.
func (b *bridge) Command(ctx context.Context, cmd contract.Command) *contract.ReplyError {
	if rerr, ok := b.upkeepCommand(ctx, cmd); ok {
		return rerr
	}
	if cmd.Name == contract.CmdClipLink { // it has a result: see Answer (camera_wiring.go)
		_, rerr := b.Answer(ctx, cmd)
		return rerr
	}
	in, err := commandInput(cmd)
	if err != nil {
		return &contract.ReplyError{Code: contract.ErrBadArgs, Message: err.Error()}
	}
	if rerr := b.admitCommand(ctx, cmd); rerr != nil {
		return rerr
	}
	if cmd.Name == contract.CmdUploadClip {
		return b.uploadClip(ctx, cmd)
	}
	if _, err := b.controller.Submit(ctx, in); err != nil {
		return &contract.ReplyError{Code: replyCode(err), Message: err.Error()}
	}
	return nil
}

// commandInput decodes and checks a command's args (contract.DecodeArgs:
// the limits of every text) and turns them into a controller input. A
// command that fails is answered bad_args before anything is journaled.
func commandInput(cmd contract.Command) (kiosk.Input, error) {
	switch cmd.Name {
	case contract.CmdAccept:
		var a contract.AcceptArgs
		err := contract.DecodeArgs(cmd.Args, &a)
		return kiosk.Accept{Incident: a.Incident, Responder: a.Responder, CallbackBy: a.CallbackBy}, err
	case contract.CmdMessage:
		var a contract.MessageArgs
		err := contract.DecodeArgs(cmd.Args, &a)
		return kiosk.SendMessage{Incident: a.Incident, From: a.From, Text: a.Text}, err
	case contract.CmdEscalate:
		var a contract.EscalateArgs
		err := contract.DecodeArgs(cmd.Args, &a)
		return kiosk.Escalate{Incident: a.Incident, By: a.By, Reason: a.Reason}, err
	case contract.CmdClose:
		var a contract.CloseArgs
		err := contract.DecodeArgs(cmd.Args, &a)
		return kiosk.Close{Incident: a.Incident, By: a.By, Outcome: a.Outcome}, err
	case contract.CmdUploadClip:
		// Not a controller input: Command hands it to uploadClip.
		return nil, contract.DecodeArgs(cmd.Args, &contract.UploadClipArgs{})
	case contract.CmdAcknowledgeRecovery:
		return acknowledgeInput(cmd.Args)
	}
	return nil, errors.New("unknown command " + cmd.Name)
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

// State is the open-incident snapshot the link publishes.
func (b *bridge) State() contract.State {
	st := contract.State{
		V: contract.SchemaVersion, Kiosk: b.journal.KioskID(), BootEpoch: b.journal.BootEpoch(),
		Time: time.Now().UTC(), Incidents: []contract.Incident{},
	}
	for _, in := range b.controller.State().Sorted() {
		st.Incidents = append(st.Incidents, wireIncident(in))
	}
	return st
}

func wireIncident(in *kiosk.Incident) contract.Incident {
	return contract.Incident{
		ID: in.ID, Request: string(in.Request), Status: string(in.Status), Source: in.Source,
		Urgency: in.Urgency, Delivered: in.Delivered, Test: in.Test, Presses: in.Presses,
		RegisteredAt: in.RegisteredAt, CallbackDue: in.CallbackDue, CloseDue: in.CloseDue,
		Overdue: in.Overdue, Responder: in.Responder, Outcome: in.Outcome,
	}
}
