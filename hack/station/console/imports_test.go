package console

import (
	"os/exec"
	"strings"
	"testing"
)

// TestStationUsesOnlyTheContract keeps the station a reference platform
// vendors can read: of the product it may use only the contract (and the
// leaves the contract itself is built from, such as kioskd/textlimit), never
// the kiosk's, the firmware's or cloudlink's internals.
func TestStationUsesOnlyTheContract(t *testing.T) {
	contract := map[string]bool{}
	for _, pkg := range deps(t, "kioskd/cloudlink/contract") {
		contract[pkg] = true
	}
	for _, pkg := range deps(t, "kioskd/hack/station/...") {
		if !strings.HasPrefix(pkg, "kioskd/") || contract[pkg] || strings.HasPrefix(pkg, "kioskd/hack/station") {
			continue
		}
		t.Errorf("the station depends on %s; it may use only kioskd/cloudlink/contract", pkg)
	}
}

// deps lists the packages pattern's non-test code depends on, its own included.
func deps(t *testing.T, pattern string) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", "-test=false", pattern).Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	return strings.Fields(string(out))
}
