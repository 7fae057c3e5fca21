package kioskd_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestRooms checks the import rules of ARCHITECTURE.md: each library stays in
// its room, and kiosk and cloudlink never import each other.
func TestRooms(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-test=false", "-f", `{{.ImportPath}}:{{join .Imports " "}}`, "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	libraries := map[string]string{ // import prefix → the only room allowed to use it
		"periph.io/x/":                        "kioskd/devices/gpiopin",
		"github.com/deepch/vdk":               "kioskd/devices/rtspcam",
		"go.etcd.io/bbolt":                    "kioskd/kiosk/journal",
		"github.com/eclipse/paho.mqtt.golang": "kioskd/cloudlink",
		// Clip files (fragmented MP4): written by the camera child, repaired by kioskd.
		"github.com/bluenviron/mediacommon": "kioskd/devices/clipfile",
		"github.com/abema/go-mp4":           "kioskd/devices/clipfile",
		// Test cameras and browser tests only: never in the daemon.
		"github.com/bluenviron/gortsplib": "kioskd/hack",
		"github.com/chromedp/":            "kioskd/hack",
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, imports, _ := strings.Cut(line, ":")
		if !strings.HasPrefix(pkg, "kioskd") {
			continue
		}
		for _, imp := range strings.Fields(imports) {
			checkImport(t, pkg, imp, libraries)
		}
	}
}

func checkImport(t *testing.T, pkg, imp string, libraries map[string]string) {
	t.Helper()
	inRoom := func(p, room string) bool { return p == room || strings.HasPrefix(p, room+"/") }
	for prefix, room := range libraries {
		if strings.HasPrefix(imp, prefix) && !inRoom(pkg, room) && !inRoom(pkg, "kioskd/hack") {
			t.Errorf("%s imports %s; only %s may", pkg, imp, room)
		}
	}
	if inRoom(pkg, "kioskd/kiosk") && inRoom(imp, "kioskd/cloudlink") ||
		inRoom(pkg, "kioskd/cloudlink") && inRoom(imp, "kioskd/kiosk") {
		t.Errorf("%s imports %s: kiosk and cloudlink never import each other", pkg, imp)
	}
	if !inRoom(pkg, "kioskd/hack") && inRoom(imp, "kioskd/hack") {
		t.Errorf("%s imports %s: hack/ only helps developers, the product never uses it", pkg, imp)
	}
}
