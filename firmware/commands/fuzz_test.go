package cloudlink

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"slices"
	"testing"

	"kioskd/cloudlink/contract"
)

// FuzzCommand: any payload on the command topic gets a reply with the
// envelope set, and a code unless the kiosk applied it; only a command that
// passed the checks reaches the kiosk; nothing panics. sign wraps the payload
// in an envelope signed by the trusted key, so that the fuzzer reaches the
// checks behind the signature; unsigned payloads test the envelope itself.
func FuzzCommand(f *testing.F) {
	seeds := []string{
		`{"v":1,"id":"c1","kiosk":"kiosk-test-1","name":"accept","args":{"incident":"i"},"counter":1}`,
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
	kiosk := newKiosk()
	l := New(Config{KioskID: testKiosk, CommandKeys: []ed25519.PublicKey{testKey.Public().(ed25519.PublicKey)}},
		newOutbox(), kiosk, nil)
	f.Fuzz(func(t *testing.T, payload []byte, sign bool) {
		if sign {
			payload = sealRaw(testKey, payload)
		}
		kiosk.mu.Lock()
		kiosk.cmds, kiosk.refused = nil, nil // memory stays flat however long it runs
		kiosk.mu.Unlock()
		reply := l.answer(context.Background(), payload)
		called := len(kiosk.commands())
		if reply.V != contract.SchemaVersion || reply.Kiosk != testKiosk {
			t.Fatalf("reply envelope: got v=%d kiosk=%q, want v=%d kiosk=%q",
				reply.V, reply.Kiosk, contract.SchemaVersion, testKiosk)
		}
		if reply.OK != (reply.Error == nil) || (reply.Error != nil && reply.Error.Code == "") {
			t.Fatalf("reply: got ok=%v error=%+v, want ok or a coded error", reply.OK, reply.Error)
		}
		if _, rerr := l.checkCommand(payload); (rerr == nil) != (called == 1) {
			t.Fatalf("kiosk calls: got %d for a command whose check says %v", called, rerr)
		}
		if reply.OK != (called == 1) { // this kiosk accepts every command it gets
			t.Fatalf("reply ok=%v after %d kiosk calls", reply.OK, called)
		}
		if !sign && called == 1 {
			t.Fatalf("an unsigned payload reached the kiosk: %q", payload)
		}
		if _, err := json.Marshal(reply); err != nil {
			t.Fatalf("encode reply: %v", err)
		}
	})
}

// FuzzAck: checking any message on the ack topic either refuses it with a
// code or yields 1 to MaxAckIDs ids of an ack for this kiosk and boot,
// signed by the trusted key; nothing panics.
func FuzzAck(f *testing.F) {
	seeds := [][]byte{
		[]byte(`{"v":1,"ids":["ev-1","ev-2"]}`), []byte(`{"v":1,"ids":[]}`), []byte(`{"v":1,"payload":"","sig":""}`),
		[]byte(`not json`), []byte(`null`), nil, []byte("\xff"),
		signedAck(f, testKey, testKiosk, testEpoch, "ev-1", "ev-2"),
		signedAck(f, testKey, testKiosk, testEpoch+1, "ev-1"),
		signedAck(f, otherKey, testKiosk, testEpoch, "ev-1"),
	}
	for _, s := range seeds {
		f.Add(s)
	}
	l := New(Config{KioskID: testKiosk, BootEpoch: testEpoch,
		AckKeys: []ed25519.PublicKey{testKey.Public().(ed25519.PublicKey)}}, newOutbox(), newKiosk(), nil)
	codes := []string{contract.AckMalformed, contract.AckUnsigned, contract.AckBadSignature, contract.AckWrongKiosk, contract.AckWrongBoot}
	f.Fuzz(func(t *testing.T, msg []byte) {
		a, aerr := l.openAck(msg)
		if aerr != nil {
			if !slices.Contains(codes, aerr.Code) {
				t.Fatalf("refused with code %q, not one of %v", aerr.Code, codes)
			}
			return
		}
		if len(a.IDs) == 0 || len(a.IDs) > contract.MaxAckIDs || a.Kiosk != testKiosk || a.BootEpoch != testEpoch {
			t.Fatalf("accepted %+v from %q", a, msg)
		}
	})
}
