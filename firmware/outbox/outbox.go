// Package outbox is the journal as the cloud link sees it (cloudlink.Outbox):
// the events waiting for the platform's ack, in the contract's envelope, the
// urgent ones first; an ack takes them out of the journal and marks their
// incidents delivered; and the open-incident state the link publishes.
// kioskd, hack/fleet and hack/drainbench all ship the journal through it, so
// the tools measure what kioskd sends. kiosk and cloudlink never import each
// other: this is where their types meet for the outbox (ARCHITECTURE.md,
// "A press, from pin to platform", steps 6 to 9).
package outbox

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"kioskd/cloudlink/contract"
	"kioskd/kiosk"
	"kioskd/kiosk/journal"
)

// deliverWait bounds how long an ack waits for the controller to take one
// Deliver; a Deliver missed is mended by the controller's reconciliation.
const deliverWait = 5 * time.Second

// Outbox is the link's Outbox over one journal and its controller.
type Outbox struct {
	journal    *journal.Journal
	controller *kiosk.Controller // nil: acks only leave the journal (hack/drainbench)
	log        *slog.Logger
}

// New builds the outbox over j; ctrl is told of each incident delivered and
// gives the state. ctrl may be nil for a journal without incidents to
// deliver (a benchmark); State then reports none.
func New(j *journal.Journal, ctrl *kiosk.Controller, log *slog.Logger) *Outbox {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Outbox{journal: j, controller: ctrl, log: log}
}

// Pending returns waiting events in seq order.
func (o *Outbox) Pending(afterSeq uint64, limit int) ([]contract.Event, error) {
	return WireEvents(o.journal.Pending(afterSeq, limit))
}

// Urgent returns the waiting new alarms, to be sent before any backlog.
func (o *Outbox) Urgent(limit int) ([]contract.Event, error) {
	return WireEvents(o.journal.Urgent(limit))
}

// Ack removes the events from the outbox, then marks their incidents
// delivered (see AckEvents).
func (o *Outbox) Ack(ids []string) error {
	_, err := o.AckEvents(ids)
	return err
}

// AckEvents is Ack returning the events it removed. A crash between the
// removal and the Deliver, or a controller too busy to take the Deliver in
// time, is mended by kiosk.Controller, which reconciles undelivered
// incidents with the outbox at start and every 30 s.
func (o *Outbox) AckEvents(ids []string) ([]journal.Event, error) {
	acked, err := o.journal.Ack(ids)
	if err != nil {
		return nil, err
	}
	o.noteClipAcks(acked)
	if o.controller == nil {
		return acked, nil
	}
	seen := map[string]bool{}
	for _, ev := range acked {
		if ev.Incident == "" || seen[ev.Incident] {
			continue
		}
		seen[ev.Incident] = true
		ctx, cancel := context.WithTimeout(context.Background(), deliverWait)
		_, err := o.controller.Submit(ctx, kiosk.Deliver{Incident: ev.Incident})
		cancel()
		if err != nil {
			o.log.Error("mark delivered", "incident", ev.Incident, "err", err)
		}
	}
	return acked, nil
}

// noteClipAcks marks acked the clips whose end or upload the platform just
// acknowledged: clip retention keeps a clip at least until then.
func (o *Outbox) noteClipAcks(acked []journal.Event) {
	for _, ev := range acked {
		switch ev.Type {
		case kiosk.EvClipReady, kiosk.EvClipFailed, kiosk.EvClipUploaded:
		default:
			continue
		}
		var data struct {
			Clip struct{ ID string } `json:"clip"`
		}
		if err := json.Unmarshal(ev.Data, &data); err != nil || data.Clip.ID == "" {
			continue
		}
		if _, err := o.journal.MarkClipAcked(data.Clip.ID); err != nil {
			o.log.Warn("clip ack not indexed", "clip", data.Clip.ID, "err", err)
		}
	}
}
