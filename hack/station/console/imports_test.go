package console

import (
	"os/exec"
	"strings"
	"testing"
)

// TestStationUsesOnlyTheContract keeps the station a reference platform
// vendors can read: of the product it may use only the contract, never the
// kiosk's, the firmware's or cloudlink's internals.
func TestStationUsesOnlyTheContract(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-test=false", "kioskd/hack/station/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if !strings.HasPrefix(pkg, "kioskd/") || pkg == "kioskd/cloudlink/contract" ||
			strings.HasPrefix(pkg, "kioskd/hack/station") {
			continue
		}
		t.Errorf("the station depends on %s; it may use only kioskd/cloudlink/contract", pkg)
	}
}
