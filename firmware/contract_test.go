package firmware

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"

	"kioskd/cloudlink/contract"
	"kioskd/kiosk"
)

// kiosk and cloudlink never import each other, so the check that what the
// kiosk journals is what the contract documents lives here.

func TestEventTypesMatchContract(t *testing.T) {
	var documented []string
	for _, et := range contract.EventTypes {
		documented = append(documented, et.Name)
	}
	if !slices.Equal(kiosk.EventTypes, documented) {
		t.Errorf("kiosk.EventTypes = %v\ncontract.EventTypes = %v", kiosk.EventTypes, documented)
	}
}

// TestIncidentSnapshotMatchesContract: every event's data.incident is a
// kiosk.Incident; its JSON fields must be the documented EventIncident.
func TestIncidentSnapshotMatchesContract(t *testing.T) {
	var doc struct {
		Components struct {
			Schemas map[string]struct {
				Properties map[string]json.RawMessage `json:"properties"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(contract.AsyncAPI(), &doc); err != nil {
		t.Fatal(err)
	}
	var documented []string
	for name := range doc.Components.Schemas["EventIncident"].Properties {
		documented = append(documented, name)
	}
	slices.Sort(documented)
	var fields []string
	typ := reflect.TypeFor[kiosk.Incident]()
	for i := range typ.NumField() {
		name, _, _ := strings.Cut(typ.Field(i).Tag.Get("json"), ",")
		fields = append(fields, name)
	}
	slices.Sort(fields)
	if !slices.Equal(fields, documented) {
		t.Errorf("kiosk.Incident JSON fields = %v\ndocumented EventIncident = %v", fields, documented)
	}
}
