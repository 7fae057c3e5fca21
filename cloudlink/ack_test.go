package cloudlink

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"kioskd/cloudlink/contract"
	"kioskd/hack/brokertest"
)

// An ack that is unsigned, badly signed, for another kiosk or another boot,
// or malformed removes nothing: it is counted, in the heartbeat and the
// status, and reported to the kiosk; the link keeps working, and a signed
// ack for this kiosk and boot then removes the event.
func TestRefusedAcksChangeNothing(t *testing.T) {
	broker := brokertest.Start(t)
	cfg := testConfig(t, broker.URL())
	cfg.HeartbeatEvery = 200 * time.Millisecond
	platform := brokertest.Connect(t, broker.URL())
	events := platform.Subscribe(cfg.Topics.Events())
	beats := platform.Subscribe(cfg.Topics.Heartbeat())
	outbox, kiosk := newOutbox(), newKiosk()
	outbox.add(1)
	link, _ := runLink(t, cfg, outbox, kiosk)
	ev := nextEvent(t, events)

	bare, _ := json.Marshal(contract.Ack{V: contract.SchemaVersion, IDs: []string{ev.ID}})
	refused := []struct {
		code string
		msg  []byte
	}{
		{contract.AckUnsigned, bare},
		{contract.AckBadSignature, signedAck(t, otherKey, testKiosk, testEpoch, ev.ID)},
		{contract.AckWrongKiosk, signedAck(t, testKey, "kiosk-test-2", testEpoch, ev.ID)},
		{contract.AckWrongBoot, signedAck(t, testKey, testKiosk, testEpoch-1, ev.ID)}, // recorded in the boot before
		{contract.AckWrongBoot, signedAck(t, testKey, testKiosk, testEpoch+1, ev.ID)},
		{contract.AckMalformed, []byte("not json")},
		{contract.AckUnsigned, []byte(`{"v":1,"ids":[]}`)},
		{contract.AckMalformed, sealRaw(testKey, []byte(`{"v":1,"id":"c-1","kiosk":"kiosk-test-1","name":"close","counter":9}`))},
	}
	var want []string
	for _, r := range refused {
		platform.Publish(cfg.Topics.Acks(), r.msg, false)
		want = append(want, r.code)
	}
	waitFor(t, "every refusal reported", func() bool { return len(kiosk.refusedAcks()) == len(want) })
	// In any order: paho may hand over messages out of order.
	if got := kiosk.refusedAcks(); !slices.Equal(sorted(got), sorted(want)) {
		t.Errorf("refusals reported: %v, want %v", got, want)
	}
	if got := outbox.unacked(); got != 1 {
		t.Fatalf("unacked after refused acks: %d, want 1", got)
	}
	if got := link.Status().AcksRefused; got != uint64(len(want)) {
		t.Errorf("Status().AcksRefused = %d, want %d", got, len(want))
	}
	for {
		hb, _ := nextHeartbeat(t, beats)
		if hb.AcksRefused == uint64(len(want)) {
			break
		}
	}
	sendAck(t, platform, cfg.Topics, ev.ID)
	waitFor(t, "the signed ack taken", func() bool { return outbox.unacked() == 0 })
	if got := len(kiosk.refusedAcks()); got != len(want) {
		t.Errorf("refusals after the signed ack: %d, want %d", got, len(want))
	}
}

// allow_unsigned admits unsigned acks only while no ack key is configured.
func TestUnsignedAcksOnlyWithoutKeys(t *testing.T) {
	bare, _ := json.Marshal(contract.Ack{V: contract.SchemaVersion, IDs: []string{"ev-1"}})
	forged := signedAck(t, otherKey, testKiosk, testEpoch, "ev-1")
	stale := signedAck(t, otherKey, testKiosk, testEpoch-1, "ev-1")
	keys := []ed25519.PublicKey{testKey.Public().(ed25519.PublicKey)}
	tests := []struct {
		name          string
		keys          []ed25519.PublicKey
		allowUnsigned bool
		msg           []byte
		want          string // "" accepted
	}{
		{"no key, bare", nil, false, bare, contract.AckUnsigned},
		{"no key, signed", nil, false, signedAck(t, testKey, testKiosk, testEpoch, "ev-1"), contract.AckBadSignature},
		{"no key, allow_unsigned, bare", nil, true, bare, ""},
		{"no key, allow_unsigned, any signature", nil, true, forged, ""},
		{"no key, allow_unsigned, another boot", nil, true, stale, contract.AckWrongBoot},
		{"key, allow_unsigned, bare", keys, true, bare, contract.AckUnsigned},
		{"key, allow_unsigned, forged", keys, true, forged, contract.AckBadSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := New(Config{KioskID: testKiosk, BootEpoch: testEpoch, AckKeys: tt.keys, AllowUnsigned: tt.allowUnsigned},
				newOutbox(), newKiosk(), nil)
			_, aerr := l.openAck(tt.msg)
			got := ""
			if aerr != nil {
				got = aerr.Code
			}
			if got != tt.want {
				t.Errorf("openAck: %v, want code %q", aerr, tt.want)
			}
		})
	}
}

// A flood of refused acks never blocks the link: the kiosk's reports may
// be dropped, the count is not, and a signed ack still gets through.
func TestAckFloodDoesNotBlock(t *testing.T) {
	broker := brokertest.Start(t)
	cfg := testConfig(t, broker.URL())
	platform := brokertest.Connect(t, broker.URL())
	events := platform.Subscribe(cfg.Topics.Events())
	outbox := newOutbox()
	outbox.add(1)
	kiosk := &slowKiosk{fakeKiosk: newKiosk(), release: make(chan struct{})}
	t.Cleanup(func() { close(kiosk.release) })
	link, _ := runLink(t, cfg, outbox, kiosk)
	ev := nextEvent(t, events)
	const flood = 500
	forged := signedAck(t, otherKey, testKiosk, testEpoch, ev.ID)
	for range flood {
		platform.Publish(cfg.Topics.Acks(), forged, false)
	}
	sendAck(t, platform, cfg.Topics, ev.ID)
	waitFor(t, "the signed ack taken behind the flood", func() bool { return outbox.unacked() == 0 })
	if got := link.Status().AcksRefused; got != flood {
		t.Errorf("AcksRefused = %d, want %d", got, flood)
	}
}

// slowKiosk blocks in AckRefused until released, as a kiosk busy journaling.
type slowKiosk struct {
	*fakeKiosk
	release chan struct{}
}

func (k *slowKiosk) AckRefused(ctx context.Context, a contract.Ack, aerr *contract.AckError) {
	select {
	case <-k.release:
	case <-ctx.Done():
	}
	k.fakeKiosk.AckRefused(ctx, a, aerr)
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}
