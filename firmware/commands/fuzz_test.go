package commands

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"testing"

	"kioskd/cloudlink/contract"
)

// FuzzCommand: any payload on the command topic gets a reply with the
// envelope set, and a code unless a handler applied it (or it is a re-send
// of one that was); a command reaches a handler if and only if it passes
// the checks on a fresh counter; nothing panics. sign wraps the payload
// in an envelope signed by the trusted key, so that the fuzzer reaches the
// checks behind the signature; unsigned payloads test the envelope itself.
func FuzzCommand(f *testing.F) {
	seeds := []string{
		`{"v":1,"id":"c1","kiosk":"kiosk-test-1","name":"accept","args":{"incident":"i"},"counter":1}`,
		`{"v":1,"id":"c8","kiosk":"kiosk-test-1","name":"accept","args":{"incident":"i","responder":"r"},"counter":8}`,
		`{"v":1,"id":"c2","kiosk":"kiosk-test-1","name":"close","args":null,"counter":2}`,
		`{"v":1,"id":"c3","kiosk":"kiosk-other","name":"accept","counter":3}`,
		`{"v":2,"id":"c4","kiosk":"kiosk-test-1","name":"accept","counter":4}`,
		`{"v":1,"id":"c5","kiosk":"kiosk-test-1","name":"reboot","counter":5}`,
		`{"v":1,"id":"","kiosk":"kiosk-test-1","name":"message","counter":6}`,
		`{"v":1,"id":"c6","kiosk":"kiosk-test-1","name":"message","counter":0}`,
		`{"v":1,"id":"\ud800","kiosk":"kiosk-test-1","name":"escalate","args":[1,2],"counter":7}`,
		`{"v":1,"payload":"e30=","sig":"AAAA"}`,
		`{"v":1,`, `null`, `[]`, `"accept"`, ``, "\xff\xfe",
	}
	for _, s := range seeds {
		f.Add([]byte(s), true)
		f.Add([]byte(s), false)
	}
	r := newRig(f, nil)
	keys := []ed25519.PublicKey{testKey.Public().(ed25519.PublicKey)}
	f.Fuzz(func(t *testing.T, payload []byte, sign bool) {
		if sign {
			payload = sealRaw(testKey, payload)
		}
		r.forget() // memory stays flat however long it runs
		passes, fresh, resent := r.expect(t, payload, keys)
		reply := r.d.Answer(context.Background(), payload)
		called := len(r.commands())
		if reply.V != contract.SchemaVersion || reply.Kiosk != testKiosk {
			t.Fatalf("reply envelope: got v=%d kiosk=%q, want v=%d kiosk=%q",
				reply.V, reply.Kiosk, contract.SchemaVersion, testKiosk)
		}
		if reply.OK != (reply.Error == nil) || (reply.Error != nil && reply.Error.Code == "") {
			t.Fatalf("reply: got ok=%v error=%+v, want ok or a coded error", reply.OK, reply.Error)
		}
		if (passes && fresh) != (called == 1) {
			t.Fatalf("handler calls: got %d for a command whose checks say %v, on a fresh counter %v", called, passes, fresh)
		}
		if reply.OK != (called == 1) && !resent { // this handler accepts every command it gets
			t.Fatalf("reply ok=%v after %d handler calls", reply.OK, called)
		}
		if !sign && called == 1 {
			t.Fatalf("an unsigned payload reached a handler: %q", payload)
		}
		if _, err := json.Marshal(reply); err != nil {
			t.Fatalf("encode reply: %v", err)
		}
	})
}

// expect says, before the dispatcher sees payload, whether it passes the
// checks that need no durable state (signature, kiosk, a routed name, its
// args), whether its counter is fresh in the replay window, and whether it
// is a re-send of a command the window holds (it gets that one's reply).
func (r *rig) expect(t *testing.T, payload []byte, keys []ed25519.PublicKey) (passes, fresh, resent bool) {
	cmd, err := contract.OpenCommand(payload, keys)
	// The replay window is asked before the args are checked: a re-send
	// (same counter, same id) gets the first reply whatever args it carries.
	routed := err == nil && cmd.Kiosk == testKiosk && contract.NewArgs(cmd.Name) != nil
	passes = routed && contract.CheckArgs(cmd.Name, cmd.Args) == nil
	floor, _, err := r.j.CommandWindowState()
	if err != nil {
		t.Fatal(err)
	}
	held, ok, err := r.j.CommandAdmitted(cmd.Counter)
	if err != nil {
		t.Fatal(err)
	}
	return passes, !ok && cmd.Counter > floor, routed && ok && held.SameID(cmd.ID)
}
