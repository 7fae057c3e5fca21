package kiosk

import (
	"reflect"
	"testing"
)

// A refused ack is journaled as one critical security event that changes
// no incident.
func TestAckRefusedRecord(t *testing.T) {
	s := NewState()
	in := AckRefused{Code: "bad_signature", Message: "no key verifies", AddressedTo: "post-1", BootEpoch: 3, IDCount: 2}
	after, fx, err := rules.Step(s, in, t0)
	if err != nil || len(fx.Records) != 1 {
		t.Fatalf("Step: %+v, %v; want one record", fx.Records, err)
	}
	r := fx.Records[0]
	want := map[string]any{"code": "bad_signature", "message": "no key verifies", "addressed_to": "post-1", "boot_epoch": uint64(3), "id_count": 2}
	if r.Type != EvAckRefused || r.Urgent || r.Telemetry || r.Incident != "" || !reflect.DeepEqual(r.Data, want) {
		t.Errorf("record %+v, want a critical %s with %v", r, EvAckRefused, want)
	}
	if len(after.Incidents) != 0 || len(after.Faults) != 0 {
		t.Errorf("state changed: %+v", after)
	}
}
