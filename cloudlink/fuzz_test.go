package cloudlink

import (
	"crypto/ed25519"
	"slices"
	"testing"

	"kioskd/cloudlink/contract"
)

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
