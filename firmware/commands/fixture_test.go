package commands

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"kioskd/cloudlink/contract"
	"kioskd/kiosk"
	"kioskd/kiosk/journal"
)

const testKiosk = "kiosk-test-1"

// testKey signs the tests' commands; the rig trusts it. otherKey is a key
// the kiosk does not trust.
var (
	testKey  = ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	otherKey = ed25519.NewKeyFromSeed([]byte("another platform, never trusted."))
)

// sealRaw wraps exactly these command bytes in a signed envelope.
func sealRaw(key ed25519.PrivateKey, command []byte) []byte {
	b, _ := json.Marshal(contract.SignedCommand{
		V:       contract.SchemaVersion,
		Payload: base64.StdEncoding.EncodeToString(command),
		Sig:     base64.StdEncoding.EncodeToString(ed25519.Sign(key, command)),
	})
	return b
}

func seal(command string) string { return string(sealRaw(testKey, []byte(command))) }

// rig is a dispatcher over a real journal file and a running controller.
// Its table routes every command of the contract to a handler that records
// the command and answers it with reply and result. Its clock is the test's,
// synchronised or not as the test says.
type rig struct {
	d      *Dispatcher
	j      *journal.Journal
	ctrl   *kiosk.Controller
	mu     sync.Mutex
	cmds   []contract.Command   // the commands the handlers got
	reply  *contract.ReplyError // what every handler answers; nil: ok
	result json.RawMessage      // the result of an ok answer
	now    time.Time
	synced bool
}

// newRig builds a rig trusting testKey; edit, if not nil, may change the
// dispatcher's config.
func newRig(t testing.TB, edit func(*Config)) *rig {
	t.Helper()
	j, err := journal.Open(filepath.Join(t.TempDir(), "journal.db"), journal.Options{KioskID: testKiosk})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	r := &rig{j: j, now: time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)}
	clock := kiosk.NewClock(func() time.Time { r.mu.Lock(); defer r.mu.Unlock(); return r.now },
		time.Time{}, func() bool { r.mu.Lock(); defer r.mu.Unlock(); return r.synced })
	log := slog.New(slog.DiscardHandler)
	r.ctrl = kiosk.New(kiosk.Rules{CallbackWithin: 5 * time.Minute, CloseWithin: 24 * time.Hour}, "test", j, clock, kiosk.NewState(), log)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.ctrl.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	cfg := Config{KioskID: testKiosk, Keys: []ed25519.PublicKey{testKey.Public().(ed25519.PublicKey)},
		Journal: j, Clock: clock, Controller: r.ctrl, Routes: r.table(), Log: log}
	if edit != nil {
		edit(&cfg)
	}
	if r.d, err = New(cfg); err != nil {
		t.Fatal(err)
	}
	return r
}

func (r *rig) table() Table {
	return Table{
		contract.CmdAccept:              record[contract.AcceptArgs](r),
		contract.CmdMessage:             record[contract.MessageArgs](r),
		contract.CmdEscalate:            record[contract.EscalateArgs](r),
		contract.CmdClose:               record[contract.CloseArgs](r),
		contract.CmdAcknowledgeRecovery: record[contract.AcknowledgeRecoveryArgs](r),
		contract.CmdUploadClip:          record[contract.UploadClipArgs](r),
		contract.CmdClipLink:            record[contract.ClipLinkArgs](r),
		contract.CmdSelfTest:            record[contract.SelfTestArgs](r),
		contract.CmdUpdate:              record[contract.UpdateArgs](r),
	}
}

// record is the rig's route for a command whose args are A.
func record[A any, P argsOf[A]](r *rig) Route {
	return HandleWithResult[A, P](func(_ context.Context, cmd contract.Command, _ A) (json.RawMessage, *contract.ReplyError) {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.cmds = append(r.cmds, cmd)
		return r.result, r.reply
	})
}

func (r *rig) set(reply *contract.ReplyError, result json.RawMessage) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reply, r.result = reply, result
}

func (r *rig) setClock(now time.Time, synced bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.now, r.synced = now, synced
}

// commands returns the commands the handlers got so far.
func (r *rig) commands() []contract.Command {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]contract.Command(nil), r.cmds...)
}

func (r *rig) forget() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cmds = nil
}

// refusals returns "code id" of each security.command_refused journaled.
func (r *rig) refusals(t testing.TB) []string {
	t.Helper()
	evs, err := r.j.Pending(0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, ev := range evs {
		if ev.Type == kiosk.EvCommandRefused {
			var d struct{ Code, Command string }
			json.Unmarshal(ev.Data, &d)
			out = append(out, d.Code+" "+d.Command)
		}
	}
	return out
}

// answer hands payload to the dispatcher and returns the error code of its
// reply, "" when ok.
func (r *rig) answer(payload string) (contract.Reply, string) {
	reply := r.d.Answer(context.Background(), []byte(payload))
	if reply.Error == nil {
		return reply, ""
	}
	return reply, reply.Error.Code
}
