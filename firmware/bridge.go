package firmware

import (
	"context"
	"crypto/ed25519"
	"log/slog"
	"time"

	"kioskd/cloudlink/contract"
	"kioskd/firmware/cameras"
	"kioskd/firmware/commands"
	"kioskd/firmware/outbox"
	"kioskd/firmware/upkeep"
	"kioskd/kiosk"
	"kioskd/kiosk/journal"
)

// bridge joins the cloud link to the journal and the controller: it is the
// link's Kiosk, and its embedded Outbox (firmware/outbox) is the link's
// Outbox. kiosk and cloudlink never import each other; the translation
// between their types lives in firmware and its packages.
type bridge struct {
	*outbox.Outbox // Pending, Urgent, Ack, State
	journal        *journal.Journal
	controller     *kiosk.Controller
	clock          *kiosk.Clock
	alarmPath      func() error // nil when a press would be journaled and relayed
	started        time.Time
	log            *slog.Logger
	commands       *commands.Dispatcher // the one command path; see routes.go
	cameras        *cameras.Set         // see camera_wiring.go
	upkeep         *upkeep.Upkeep       // self-tests and updates; see upkeep_wiring.go

	ackRefusals commands.RefusalLimit // refused acks journaled per minute; see ack_security.go
}

// commandKeys verify the platform's commands; with none,
// commands.allow_unsigned takes unsigned ones (development only).
type commandKeys struct {
	keys          []ed25519.PublicKey
	allowUnsigned bool
}

// newBridge builds the bridge and its command dispatcher, whose table
// routes commands to the controller, cams and up (either may be nil in
// tests). alarmPath says why a press would not reach the platform.
func newBridge(j *journal.Journal, ctrl *kiosk.Controller, clock *kiosk.Clock, cams *cameras.Set, up *upkeep.Upkeep,
	ck commandKeys, alarmPath func() error, log *slog.Logger) (*bridge, error) {
	b := &bridge{Outbox: outbox.New(j, ctrl, log), journal: j, controller: ctrl, clock: clock, alarmPath: alarmPath,
		cameras: cams, upkeep: up, started: time.Now(), log: log, ackRefusals: commands.RefusalLimit{What: "acks"}}
	var err error
	b.commands, err = commands.New(commands.Config{KioskID: j.KioskID(), Keys: ck.keys, AllowUnsigned: ck.allowUnsigned,
		Journal: j, Clock: clock, Controller: ctrl, Routes: b.routes(), Log: log})
	return b, err
}

// Command checks, applies and answers one platform command (cloudlink's
// Kiosk): see firmware/commands.
func (b *bridge) Command(ctx context.Context, payload []byte) contract.Reply {
	return b.commands.Answer(ctx, payload)
}
