package kioskd_test

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// grant is what one package of the module may import (not counting its
// tests: test files may import what they need, hack/ included).
type grant struct {
	project []string // packages of this module, without the "kioskd/" prefix
	libs    []string // outside libraries, by import-path prefix; "*" for any
	leaf    bool     // a leaf imports only other leaves
}

// Libraries used by several packages.
const (
	xsync = "golang.org/x/sync/"
	xsys  = "golang.org/x/sys/"
)

// anyLibrary is hack/'s grant of libraries.
var anyLibrary = []string{"*"}

// rooms is the allow-list of ARCHITECTURE.md's "Import rules": every package
// of the module, by its path without "kioskd/" ("." for the module's root).
var rooms = map[string]grant{
	".": {}, // rooms_test.go only

	"devices":          {leaf: true},
	"devices/clipfile": {leaf: true, libs: []string{"github.com/abema/go-mp4", "github.com/bluenviron/mediacommon"}},
	"devices/gpiopin":  {leaf: true, project: []string{"devices"}, libs: []string{"periph.io/x/"}},
	"devices/rtspcam":  {leaf: true, project: []string{"devices", "devices/clipfile"}, libs: []string{"github.com/deepch/vdk"}},
	"devices/sim":      {leaf: true, project: []string{"devices"}},

	"kiosk":                  {project: []string{"devices", "kiosk/journal"}},
	"kiosk/journal":          {leaf: true, libs: []string{"go.etcd.io/bbolt"}},
	"kiosk/screen":           {project: []string{"kiosk", "kiosk/journal", "kiosk/screen/guardauth"}},
	"kiosk/screen/guardauth": {leaf: true, project: []string{"kiosk/screen/guardauth/passwordhash"}},
	// The hash format alone, a leaf: firmware/config checks a password_hash with it.
	"kiosk/screen/guardauth/passwordhash": {leaf: true, libs: []string{"golang.org/x/crypto/"}},

	"cloudlink":          {project: []string{"cloudlink/contract"}, libs: []string{"github.com/eclipse/paho.mqtt.golang"}},
	"cloudlink/contract": {leaf: true},

	"firmware": {project: []string{"cloudlink", "cloudlink/contract", "devices", "devices/clipfile", "devices/gpiopin", "devices/sim",
		"kiosk", "kiosk/journal", "kiosk/screen", "kiosk/screen/guardauth", "firmware/config", "firmware/update",
		"firmware/cameras", "firmware/upkeep", "firmware/systemd", "firmware/commands", "firmware/outbox",
		"firmware/listeners", "firmware/testhooks"},
		libs: []string{xsync, xsys}},
	"firmware/cameraproc": {project: []string{"devices/rtspcam", "firmware/config"}},
	"firmware/cmd/kioskd": {project: []string{"firmware", "firmware/cameraproc", "firmware/config", "firmware/update", "kiosk/screen/guardauth/passwordhash",
		"firmware/upkeep", "firmware/systemd", "firmware/testhooks"}, libs: []string{xsys}},
	"firmware/config": {leaf: true, project: []string{"cloudlink/contract", "kiosk/screen/guardauth/passwordhash"}, libs: []string{"github.com/pelletier/go-toml/"}},
	"firmware/dist":   {leaf: true},
	"firmware/update": {leaf: true},
	"firmware/cameras": {project: []string{"devices", "devices/clipfile", "kiosk", "kiosk/journal", "kiosk/screen", "cloudlink/contract",
		"firmware/config", "firmware/listeners", "firmware/update"}, libs: []string{xsync, xsys}},
	"firmware/listeners": {project: []string{"kiosk"}},
	"firmware/testhooks": {project: []string{"kiosk", "kiosk/journal"}},
	"firmware/upkeep": {project: []string{"firmware/update", "firmware/systemd", "kiosk", "kiosk/journal",
		"cloudlink/contract", "firmware/config", "devices"}, libs: []string{xsync, xsys}},
	"firmware/systemd":  {leaf: true, libs: []string{xsys}},
	"firmware/commands": {project: []string{"cloudlink/contract", "kiosk", "kiosk/journal"}},
	"firmware/outbox":   {project: []string{"cloudlink/contract", "kiosk", "kiosk/journal"}},

	// hack/ helps developers: any library, and the product's packages it drives.
	"hack/brokertest":     {libs: anyLibrary},
	"hack/cambench":       {project: []string{"devices", "devices/rtspcam", "hack/fakecam/camsim"}, libs: anyLibrary},
	"hack/codesize":       {libs: anyLibrary},
	"hack/drainbench":     {project: []string{"cloudlink", "cloudlink/contract", "firmware/outbox", "kiosk/journal", "hack/brokertest"}, libs: anyLibrary},
	"hack/fakecam":        {project: []string{"hack/fakecam/camsim"}, libs: anyLibrary},
	"hack/fakecam/camsim": {libs: anyLibrary},
	"hack/faults":         {project: []string{"cloudlink/contract", "firmware", "firmware/testhooks", "kiosk", "kiosk/journal", "hack/brokertest"}, libs: anyLibrary},
	"hack/fleet": {project: []string{"cloudlink", "cloudlink/contract", "firmware", "firmware/outbox", "kiosk", "kiosk/journal",
		"hack/brokertest"}, libs: anyLibrary},
	"hack/kiosksim": {project: []string{"cloudlink/contract", "firmware", "firmware/cameraproc", "firmware/config", "kiosk/screen/guardauth/passwordhash",
		"hack/fakecam/camsim", "hack/station/console"}, libs: anyLibrary},
	"hack/pkg":             {project: []string{"firmware/config", "firmware/dist"}, libs: anyLibrary},
	"hack/relaytest":       {libs: anyLibrary},
	"hack/release":         {project: []string{"cloudlink/contract", "firmware/update"}, libs: anyLibrary},
	"hack/screentest":      {libs: anyLibrary},
	"hack/station":         {project: []string{"cloudlink/contract", "hack/station/console"}, libs: anyLibrary},
	"hack/station/console": {project: []string{"cloudlink/contract"}, libs: anyLibrary},
	"hack/voices":          {libs: anyLibrary},
}

// libraryRooms: a library that only one room may use (hack/ may use any).
var libraryRooms = map[string]string{
	"periph.io/x/":                        "devices/gpiopin",
	"github.com/deepch/vdk":               "devices/rtspcam",
	"go.etcd.io/bbolt":                    "kiosk/journal",
	"github.com/eclipse/paho.mqtt.golang": "cloudlink",
	// Clip files (fragmented MP4): written by the camera child, repaired by kioskd.
	"github.com/bluenviron/mediacommon": "devices/clipfile",
	"github.com/abema/go-mp4":           "devices/clipfile",
	// Test cameras and browser tests only: never in the daemon.
	"github.com/bluenviron/gortsplib": "hack",
	"github.com/chromedp/":            "hack",
}

// TestRooms checks every non-test import of every package of the module
// against rooms: a package not in the list fails, so does an import it does
// not grant. TestRoomGrants checks the list itself.
func TestRooms(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}:{{join .Imports " "}}`, "./...").Output()
	if ee, ok := err.(*exec.ExitError); ok {
		t.Fatalf("go list: %v\n%s", err, ee.Stderr)
	} else if err != nil {
		t.Fatalf("go list: %v", err)
	}
	seen := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		path, imports, _ := strings.Cut(line, ":")
		pkg := short(path)
		seen[pkg] = true
		g, ok := rooms[pkg]
		if !ok {
			t.Errorf("%s is not in rooms_test.go: add it to rooms with what it may import, and add it to ARCHITECTURE.md (the rooms and the import rules)", path)
			continue
		}
		for _, imp := range strings.Fields(imports) {
			if !g.allows(imp) {
				t.Errorf("%s imports %s, which rooms_test.go does not grant it (ARCHITECTURE.md, \"Import rules\")", path, imp)
			}
		}
	}
	for pkg := range rooms {
		if !seen[pkg] {
			t.Errorf("rooms_test.go lists %s, which does not exist: remove its entry (and its line in ARCHITECTURE.md)", pkg)
		}
	}
}

// short is a package's key in rooms.
func short(path string) string {
	if path == "kioskd" {
		return "."
	}
	return strings.TrimPrefix(path, "kioskd/")
}

func (g grant) allows(imp string) bool {
	if imp == "kioskd" || strings.HasPrefix(imp, "kioskd/") {
		return slices.Contains(g.project, short(imp))
	}
	if first, _, _ := strings.Cut(imp, "/"); !strings.Contains(first, ".") {
		return true // the standard library
	}
	return slices.ContainsFunc(g.libs, func(prefix string) bool { return prefix == "*" || strings.HasPrefix(imp, prefix) })
}

// TestRoomGrants checks the allow-list against the rules that hold whatever
// it grants: leaves import only leaves, no import runs back up (kiosk and
// cloudlink never import each other, the product never imports hack/), and
// each library stays in its room.
func TestRoomGrants(t *testing.T) {
	for pkg, g := range rooms {
		for _, imp := range g.project {
			to, ok := rooms[imp]
			switch {
			case !ok:
				t.Errorf("%s is granted %s, which is not in rooms", pkg, imp)
			case g.leaf && !to.leaf:
				t.Errorf("%s is a leaf, granted %s, which is not: a leaf imports only leaves", pkg, imp)
			case upward(pkg, imp) != "":
				t.Errorf("%s is granted %s: %s", pkg, imp, upward(pkg, imp))
			}
		}
		for _, lib := range g.libs {
			for prefix, room := range libraryRooms {
				if (strings.HasPrefix(lib, prefix) || lib == "*") && !in(pkg, room) && !in(pkg, "hack") {
					t.Errorf("%s is granted %s; only %s may use %s", pkg, lib, room, prefix)
				}
			}
		}
	}
}

// in reports whether pkg is room or inside it.
func in(pkg, room string) bool { return pkg == room || strings.HasPrefix(pkg, room+"/") }

// rank orders the rooms: an import goes to a lower rank, or stays in its
// own room. Every package of the module is in one of these rooms.
func rank(pkg string) (room string, n int) {
	for _, r := range []struct {
		room string
		n    int
	}{{"devices", 1}, {"kiosk", 2}, {"cloudlink", 2}, {"firmware", 3}, {"hack", 4}, {".", 5}} {
		if in(pkg, r.room) {
			return r.room, r.n
		}
	}
	return pkg, 0
}

// upward says why an import of imp by pkg runs the wrong way, or "".
func upward(pkg, imp string) string {
	from, m := rank(pkg)
	to, n := rank(imp)
	switch {
	case from == to || n < m:
		return ""
	case to == "hack":
		return "hack/ only helps developers, the product never uses it"
	case n == m:
		return from + " and " + to + " never import each other"
	}
	return "the import runs back up, from " + from + " to " + to
}
