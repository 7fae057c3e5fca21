package firmware_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"kioskd/cloudlink/contract"
	"kioskd/firmware/config"
	"kioskd/hack/brokertest"
)

// TestGuardConsoleRecovery: kioskd started on a damaged journal. The guard
// console, in a real Chromium, shows the recovery banner above everything,
// a press still comes in below it, and the guard acknowledges it: the
// banner goes, /healthz says ok, and the platform gets the acknowledgement
// with the guard's name.
func TestGuardConsoleRecovery(t *testing.T) {
	t.Parallel()
	broker := brokertest.Start(t)
	stateDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(stateDir, "journal.db"), []byte(strings.Repeat("damaged ", 8192)), 0o600); err != nil {
		t.Fatal(err)
	}
	k, base := startGuardKiosk(t, broker.URL(), func(c *config.Config) { c.Kiosk.StateDir = stateDir })
	plat := newPlatform(t, broker.URL(), true)
	c := openConsole(t, base)
	c.login(guardName, guardPassword)

	const banner = `document.querySelector("section.recovery")`
	c.wait("the recovery banner", banner+` && `+banner+`.innerText.includes("journal.db.broken")`, 10*time.Second)
	k.press("police")
	c.wait("the incident below the banner", card+` && `+banner+`.compareDocumentPosition(`+card+`) & Node.DOCUMENT_POSITION_FOLLOWING`, 10*time.Second)
	var box struct{ Top, Bottom, ButtonBottom float64 }
	c.eval(`(() => { const b = `+banner+`.getBoundingClientRect(), k = `+banner+`.querySelector("button").getBoundingClientRect();
		return {Top: b.top, Bottom: b.bottom, ButtonBottom: k.bottom}; })()`, &box)
	if box.Top < 0 || box.ButtonBottom > 1000 || box.Bottom <= box.Top {
		t.Errorf("banner at %+v: want it and its button within the 1000 px window", box)
	}
	c.shot("console-journal-recovered")

	form := `section.recovery form[data-action="acknowledge"]`
	c.run(chromedp.SendKeys(form+` [name=note]`, "已与平台核对报警记录"))
	c.run(chromedp.Click(form + ` button[type=submit]`))
	c.wait("the confirmation", `document.querySelector("section.recovery button.armed")`, 5*time.Second)
	c.run(chromedp.Click(form + ` button[type=submit]`))
	c.wait("the banner gone", `!`+banner+` && `+card, 10*time.Second)
	c.shot("console-recovery-acknowledged")

	evs := plat.waitEvents("journal.recovery_acknowledged", 10*time.Second, func(evs []contract.Event) bool {
		return len(ofType(evs, "journal.recovery_acknowledged")) == 1
	})
	if d := string(ofType(evs, "journal.recovery_acknowledged")[0].Data); !strings.Contains(d, `"by":"`+guardName+`"`) || !strings.Contains(d, "已与平台核对报警记录") {
		t.Errorf("journal.recovery_acknowledged data %s, want by %s with the note", d, guardName)
	}
	if code, h := k.healthz(); code != 200 || h.Status != contract.StatusOK {
		t.Errorf("/healthz after the acknowledgement: %d %+v, want 200 ok", code, h)
	}
}
