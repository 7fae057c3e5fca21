package firmware_test

import (
	"crypto/ed25519"
	"slices"
	"strings"
	"testing"
	"time"

	"kioskd/cloudlink/contract"
	"kioskd/firmware/config"
	"kioskd/firmware/update"
	"kioskd/hack/brokertest"
)

// upKiosk starts the packaged 1.0.0 under the supervisor and waits until
// the platform sees it.
func upKiosk(t *testing.T, brokerURL string, edit ...func(*config.Config)) (sup *supervisor, stateDir, httpAddr string) {
	t.Helper()
	stateDir = t.TempDir()
	cfgPath, httpAddr := updateConfig(t, stateDir, brokerURL, edit...)
	packaged := installPackaged(t, buildVersion(t, "1.0.0", false))
	return startSupervisor(t, packaged, cfgPath), stateDir, httpAddr
}

func waitStarted(t *testing.T, plat *platform, versions ...string) []contract.Event {
	t.Helper()
	return plat.waitEvents("kiosk.started of "+strings.Join(versions, ", "), 60*time.Second, func(evs []contract.Event) bool {
		return slices.Equal(startedVersions(evs), versions)
	})
}

func waitType(t *testing.T, plat *platform, typ string, n int) contract.Event {
	t.Helper()
	evs := plat.waitEvents(typ, 60*time.Second, func(evs []contract.Event) bool { return len(ofType(evs, typ)) >= n })
	return ofType(evs, typ)[n-1]
}

// TestUpdateCommits: a signed update to 1.1.0, whose download is cut
// half-way once, resumes, installs, restarts into 1.1.0, passes its trial
// and commits; the platform sees every step and the new version.
func TestUpdateCommits(t *testing.T) {
	t.Parallel()
	broker := brokertest.Start(t)
	plat := newPlatform(t, broker.URL(), true)
	beats := plat.client.Subscribe(plat.topics.Heartbeat())
	sup, stateDir, _ := upKiosk(t, broker.URL())
	waitStarted(t, plat, "1.0.0")
	art := newArtifacts(t)
	args := art.publish(t, "/kioskd-1.1.0", buildVersion(t, "1.1.0", false), "1.1.0", 1)

	sent := time.Now()
	if r := plat.waitReply(plat.command(contract.CmdUpdate, args)); !r.OK {
		t.Fatalf("update reply %+v, want ok", r)
	}
	committed := waitType(t, plat, "update.committed", 1)
	t.Logf("update command to update.committed at the platform: %s (%d-byte binary, one cut)", time.Since(sent).Round(10*time.Millisecond), args.Size)
	if d := updateData(t, committed); d["version"] != "1.1.0" || d["from_version"] != "1.0.0" {
		t.Errorf("update.committed data %v", d)
	}
	evs := waitStarted(t, plat, "1.0.0", "1.1.0")
	for _, typ := range []string{"update.downloading", "update.verified", "update.installed", "self_test.passed"} {
		if len(ofType(evs, typ)) != 1 {
			t.Errorf("%d %s events, want 1", len(ofType(evs, typ)), typ)
		}
	}
	if got := art.rangesAsked("/kioskd-1.1.0"); len(got) != 2 || got[0] != "" || !strings.HasPrefix(got[1], "bytes=") {
		t.Errorf("requests for the artifact: Range %q; want a full request, then one resuming it", got)
	}
	hb := waitHeartbeat(t, beats, func(hb contract.Heartbeat) bool { return hb.Version == "1.1.0" && hb.LastSelfTest != nil })
	if !hb.LastSelfTest.OK || hb.LastSelfTest.Trigger != "update_trial" {
		t.Errorf("heartbeat last_self_test %+v, want the passed trial", hb.LastSelfTest)
	}
	if got := sup.exitCodes(); !slices.Equal(got, []int{update.ExitRestart}) {
		t.Errorf("exits %v, want one restart (%d) into the new version", got, update.ExitRestart)
	}
	if cur := slotsCurrent(t, stateDir); cur != "a" {
		t.Errorf("current slot %q, want a", cur)
	}
}

// TestUpdateRefusals: a corrupted artifact, a bad release signature, a
// downgrade and an update during a fresh incident each end with 1.0.0
// still running, never restarted, and an update.rejected naming why.
func TestUpdateRefusals(t *testing.T) {
	t.Parallel()
	broker := brokertest.Start(t)
	plat := newPlatform(t, broker.URL(), true)
	sup, _, httpAddr := upKiosk(t, broker.URL(), func(c *config.Config) {
		c.Update.QuietAfter = config.Duration{Duration: 10 * time.Minute}
	})
	waitStarted(t, plat, "1.0.0")
	art := newArtifacts(t)
	good := art.publish(t, "/kioskd-1.1.0", buildVersion(t, "1.1.0", false), "1.1.0", 0)

	corrupted := art.publish(t, "/corrupted", buildVersion(t, "1.1.0", false), "1.1.0", 0)
	art.mu.Lock()
	art.files["/corrupted"] = append([]byte("X"), art.files["/corrupted"][1:]...) // one byte flipped in transit
	art.mu.Unlock()
	_, forger, _ := ed25519.GenerateKey(nil)
	badSig := good
	badSig.Signature, _ = contract.SignRelease(forger, good.Version, good.SHA256, good.Arch)
	downgrade := art.publish(t, "/kioskd-0.9.0", buildVersion(t, "0.9.0", false), "0.9.0", 0)

	refusals := 0
	expectRejected := func(what string, args contract.UpdateArgs, wantReason string, wantReply bool) {
		t.Helper()
		r := plat.waitReply(plat.command(contract.CmdUpdate, args))
		if got := !r.OK && strings.HasPrefix(r.Error.Message, wantReason); got != wantReply {
			t.Errorf("%s: reply %+v, want refused now: %v", what, r, wantReply)
		}
		refusals++
		d := updateData(t, waitType(t, plat, "update.rejected", refusals))
		if d["reason"] != wantReason {
			t.Errorf("%s: update.rejected %v, want reason %s", what, d, wantReason)
		}
	}
	expectRejected("corrupted artifact", corrupted, contract.UpdateSHA256Mismatch, false)
	expectRejected("bad release signature", badSig, contract.UpdateBadSignature, true)
	expectRejected("downgrade", downgrade, contract.UpdateDowngrade, true)
	plat.command(contract.CmdSelfTest, nil) // a test call is not an incident that blocks updates
	waitType(t, plat, "self_test.passed", 1)
	k := &kioskProc{t: t, http: "http://" + httpAddr}
	k.press("police")
	waitType(t, plat, "incident.registered", 2) // the test call, then the press
	expectRejected("fresh incident", good, contract.UpdateIncident, true)

	if got := sup.exitCodes(); len(got) != 0 {
		t.Errorf("kioskd exited %v; want it never restarted", got)
	}
	if got := startedVersions(plat.received()); !slices.Equal(got, []string{"1.0.0"}) {
		t.Errorf("started versions %v, want only 1.0.0", got)
	}
}

// TestUpdateCrashingBinaryRollsBack: a 1.1.0 that passes every check but
// dies at start is started MaxTrialStarts times, then the launcher puts
// 1.0.0 back, which reports crashed_at_start.
func TestUpdateCrashingBinaryRollsBack(t *testing.T) {
	t.Parallel()
	broker := brokertest.Start(t)
	plat := newPlatform(t, broker.URL(), true)
	sup, stateDir, _ := upKiosk(t, broker.URL())
	waitStarted(t, plat, "1.0.0")
	art := newArtifacts(t)
	args := art.publish(t, "/kioskd-1.1.0", buildVersion(t, "1.1.0", true), "1.1.0", 0)

	if r := plat.waitReply(plat.command(contract.CmdUpdate, args)); !r.OK {
		t.Fatalf("update reply %+v, want ok", r)
	}
	d := updateData(t, waitType(t, plat, "update.rolled_back", 1))
	if d["reason"] != contract.UpdateCrashedAtStart || d["version"] != "1.1.0" || d["running_version"] != "1.0.0" {
		t.Errorf("update.rolled_back %v, want crashed_at_start from 1.1.0 to 1.0.0", d)
	}
	waitStarted(t, plat, "1.0.0", "1.0.0")
	want := []int{update.ExitRestart}
	for range update.MaxTrialStarts {
		want = append(want, 1)
	}
	if got := sup.exitCodes(); !slices.Equal(got, want) {
		t.Errorf("exits %v, want %v (the restart, then the crashes)", got, want)
	}
	if cur := slotsCurrent(t, stateDir); cur != update.Packaged {
		t.Errorf("current slot %q, want %q", cur, update.Packaged)
	}
}

// TestUpdateOfflineBinaryRollsBack: the platform was reachable before the
// update, and the new version cannot reach it (the network path stalls
// as it starts): its self-test fails at the trial deadline, it rolls
// itself back, and 1.0.0, once the network is back, reports why.
func TestUpdateOfflineBinaryRollsBack(t *testing.T) {
	t.Parallel()
	broker := brokertest.Start(t)
	proxy := brokertest.StartProxy(t, broker.Addr())
	plat := newPlatform(t, broker.URL(), true)
	sup, stateDir, _ := upKiosk(t, proxy.URL())
	waitStarted(t, plat, "1.0.0")
	art := newArtifacts(t)
	args := art.publish(t, "/kioskd-1.1.0", buildVersion(t, "1.1.0", false), "1.1.0", 0)

	if r := plat.waitReply(plat.command(contract.CmdUpdate, args)); !r.OK {
		t.Fatalf("update reply %+v, want ok", r)
	}
	waitType(t, plat, "update.installed", 1)
	proxy.Stall()
	for deadline := time.Now().Add(60 * time.Second); len(sup.exitCodes()) < 2; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the new version never gave up; exits %v", sup.exitCodes())
		}
	}
	proxy.Resume()
	d := updateData(t, waitType(t, plat, "update.rolled_back", 1))
	if d["reason"] != contract.UpdateSelfTestFailed || !strings.Contains(d["detail"].(string), "did not ack") {
		t.Errorf("update.rolled_back %v, want self_test_failed: did not ack", d)
	}
	evs := waitStarted(t, plat, "1.0.0", "1.1.0", "1.0.0")
	if n := len(ofType(evs, "self_test.failed")); n != 1 {
		t.Errorf("%d self_test.failed events (the trial's, shipped by 1.0.0), want 1", n)
	}
	if got := sup.exitCodes(); !slices.Equal(got, []int{update.ExitRestart, update.ExitRestart}) {
		t.Errorf("exits %v, want two restarts (into 1.1.0, back to 1.0.0)", got)
	}
	if cur := slotsCurrent(t, stateDir); cur != update.Packaged {
		t.Errorf("current slot %q, want %q", cur, update.Packaged)
	}
}
