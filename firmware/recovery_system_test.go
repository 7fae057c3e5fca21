package firmware_test

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"kioskd/cloudlink/contract"
	"kioskd/hack/brokertest"
)

// TestSystemJournalRecoveryDegraded: kioskd starts on a damaged journal.
// It takes and delivers presses, but /healthz and the retained heartbeat
// say degraded, across a restart, until the platform acknowledges the
// recovery; then both say ok and the acknowledgement is journaled.
func TestSystemJournalRecoveryDegraded(t *testing.T) {
	t.Parallel()
	broker := brokertest.Start(t)
	stateDir := t.TempDir()
	damaged := []byte(strings.Repeat("\x00garbage, not a journal", 3000))
	if err := os.WriteFile(filepath.Join(stateDir, "journal.db"), damaged, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, httpAddr := simConfig(t, stateDir, broker.URL())
	plat := newPlatform(t, broker.URL(), true)
	beats := plat.client.Subscribe(plat.topics.Heartbeat())
	k := startKiosk(t, cfg, httpAddr)

	aside := checkDegraded(t, k, beats, 0)
	if _, err := os.Stat(aside); err != nil {
		t.Errorf("the damaged journal is not kept at %s: %v", aside, err)
	}
	k.press("police") // degraded is not unhealthy: the alarm path works
	plat.waitEvents("the press", 5*time.Second, func(evs []contract.Event) bool {
		return len(ofType(evs, "incident.registered")) == 1
	})
	k.waitState("delivered", func(s kioskState) bool {
		return len(s.Incidents) == 1 && s.Incidents[0].Status == "delivered"
	})

	k.kill()
	k.start()
	if got := checkDegraded(t, k, beats, 1); got != aside {
		t.Errorf("after restart: journal_recovery.set_aside %s, want still %s", got, aside)
	}

	blank := plat.command(contract.CmdAcknowledgeRecovery, contract.AcknowledgeRecoveryArgs{By: " "})
	if r := plat.waitReply(blank); r.OK || r.Error == nil || r.Error.Code != contract.ErrBadArgs {
		t.Errorf("acknowledge without by: reply %+v, want bad_args", r)
	}
	ack := plat.command(contract.CmdAcknowledgeRecovery, contract.AcknowledgeRecoveryArgs{By: "王警官", Note: "checked the alarms"})
	if r := plat.waitReply(ack); !r.OK {
		t.Fatalf("acknowledge_recovery: reply %+v, want ok", r)
	}
	evs := plat.waitEvents("journal.recovery_acknowledged", 5*time.Second, func(evs []contract.Event) bool {
		return len(ofType(evs, "journal.recovery_acknowledged")) == 1
	})
	if d := string(ofType(evs, "journal.recovery_acknowledged")[0].Data); !strings.Contains(d, `"by":"王警官"`) || !strings.Contains(d, aside) {
		t.Errorf("journal.recovery_acknowledged data %s, want by 王警官 and %s", d, aside)
	}
	if code, h := k.healthz(); code != http.StatusOK || h.Status != contract.StatusOK || h.JournalRecovery != nil {
		t.Errorf("after the acknowledgement /healthz: %d %+v, want 200 ok without journal_recovery", code, h)
	}
	waitHeartbeat(t, beats, func(hb contract.Heartbeat) bool {
		return hb.Status == contract.StatusOK && hb.JournalRecovery == nil
	})
	again := plat.command(contract.CmdAcknowledgeRecovery, contract.AcknowledgeRecoveryArgs{By: "王警官"})
	if r := plat.waitReply(again); r.OK || r.Error == nil || r.Error.Code != contract.ErrRejected {
		t.Errorf("acknowledge with nothing to acknowledge: reply %+v, want rejected", r)
	}
}

// checkDegraded checks that /healthz and the first heartbeat of the boot
// after epoch say degraded, with the same file set aside, which it returns.
func checkDegraded(t *testing.T, k *kioskProc, beats <-chan brokertest.Message, epoch uint64) string {
	t.Helper()
	code, h := k.healthz()
	if code != http.StatusOK || h.Status != contract.StatusDegraded || h.AlarmPath != "ok" || h.JournalRecovery == nil {
		t.Fatalf("/healthz: %d %+v, want 200, degraded, alarm path ok, a journal_recovery", code, h)
	}
	hb := firstHeartbeatAfter(t, beats, epoch)
	if hb.Status != contract.StatusDegraded || !hb.AlarmPathHealthy || hb.JournalRecovery == nil {
		t.Fatalf("heartbeat: status %q alarm_path_healthy %v journal_recovery %+v, want degraded, healthy, set",
			hb.Status, hb.AlarmPathHealthy, hb.JournalRecovery)
	}
	if got, want := hb.JournalRecovery.SetAside, h.JournalRecovery.SetAside; got != want || got == "" {
		t.Errorf("heartbeat set_aside %q, /healthz %q: want the same file", got, want)
	}
	return hb.JournalRecovery.SetAside
}
