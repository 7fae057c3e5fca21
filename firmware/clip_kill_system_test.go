package firmware_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"kioskd/cloudlink/contract"
	"kioskd/firmware/config"
	"kioskd/hack/brokertest"
	"kioskd/hack/fakecam/camsim"
)

// TestSystemKillMidClip: kioskd is SIGKILLed while a clip records (its
// camera process dies with it). The file left behind already plays, with
// its pre-roll; at the restart kioskd finishes it and reports clip.ready
// with partial set, after its clip.recording, and the clip plays from a
// keyframe at or before press − pre-roll up to within two seconds of the kill.
//
// It runs alone, not in parallel: in one of six CI runs with it parallel
// (issue 14), the clip's .part was gone before the kill, its clip ended
// early; the cause is not known yet. Serial, it passed every run before.
func TestSystemKillMidClip(t *testing.T) {
	camsim.RequireFFmpeg(t)
	const preRoll, recorded = 4 * time.Second, 3 * time.Second // recorded: press to kill
	broker := brokertest.Start(t)
	cams := startFakeCams(t, "door")
	state := t.TempDir()
	cfg, httpAddr := simConfig(t, state, broker.URL(), withCameras(cams), withClipServer(freeAddr(t)), func(c *config.Config) {
		c.Cameras[0].PreRoll = config.Duration{Duration: preRoll}
		c.Cameras[0].PostRoll = config.Duration{Duration: 60 * time.Second}
		c.Cameras[0].PostRollCap = config.Duration{Duration: 2 * time.Minute}
	})
	k := startKiosk(t, cfg, httpAddr)
	plat := newPlatform(t, broker.URL(), true)
	k.waitCameras("door online with its pre-roll", 30*time.Second, func(c map[string]contract.CameraStatus) bool {
		return c["door"].State == "online" && c["door"].PrerollMs >= (preRoll+2*time.Second).Milliseconds()
	})

	pressed := time.Now()
	k.press("police")
	evs := plat.waitEvents("clip.recording", 10*time.Second, func(evs []contract.Event) bool { return len(ofType(evs, "clip.recording")) > 0 })
	recording := ofType(evs, "clip.recording")[0]
	clipID := clipData(t, recording).ID
	part := filepath.Join(state, "clips", clipID+".mp4.part")
	// clip.recording is journaled when kioskd orders the clip; the camera
	// process writes the pre-roll when it takes the order, which a busy
	// machine can delay past the kill (seen once). What a kill must keep is
	// what was written: wait until the file holds its first fragment.
	waitPlayable(t, part, 10*time.Second)
	time.Sleep(time.Until(pressed.Add(recorded)))
	killed := time.Now()
	k.kill()

	checkRawPart(t, part, preRoll+recorded)

	k.start()
	evs = plat.waitEvents("clip.ready after the restart", 20*time.Second, func(evs []contract.Event) bool {
		return len(ofType(evs, "clip.ready"))+len(ofType(evs, "clip.failed")) > 0
	})
	if failed := ofType(evs, "clip.failed"); len(failed) > 0 {
		t.Fatalf("clip.failed: %s", failed[0].Data)
	}
	ready := ofType(evs, "clip.ready")[0]
	clip := clipData(t, ready)
	if clip.ID != clipID || !clip.Partial || ready.BootEpoch <= recording.BootEpoch || ready.Seq <= recording.Seq || ready.Incident != recording.Incident {
		t.Fatalf("clip.ready %+v (epoch %d seq %d), want partial clip %s after its clip.recording (epoch %d seq %d)",
			clip, ready.BootEpoch, ready.Seq, clipID, recording.BootEpoch, recording.Seq)
	}
	path := fetchClip(t, clip.Fetch)
	if sum := fileSHA(t, path); sum != clip.SHA256 {
		t.Errorf("fetched clip sha256 %s, clip.ready says %s", sum, clip.SHA256)
	}
	p, err := camsim.ProbeFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Packets) == 0 || !p.Packets[0].Key {
		t.Fatalf("partial clip does not start on a keyframe: %d pictures", len(p.Packets))
	}
	t.Logf("partial clip: %+v; ffprobe %d pictures over %.2f s; press to kill %v", clip, len(p.Packets), p.Duration(), killed.Sub(pressed))
	if clip.BeforePress < preRoll.Milliseconds() {
		t.Errorf("first keyframe %d ms before the press, want at least the pre-roll %v", clip.BeforePress, preRoll)
	}
	// The file runs from its first keyframe to within 2 s of the kill: the
	// pre-roll and the seconds after the press are in it.
	want := (time.Duration(clip.BeforePress)*time.Millisecond + killed.Sub(pressed)).Seconds()
	if got := p.Duration(); got < want-2 || got > want+0.5 {
		t.Errorf("partial clip lasts %.2f s, want %.2f s less at most 2 s", got, want)
	}
	if d := float64(clip.DurationMs) / 1000; d < p.Duration()-0.05 || d > p.Duration()+0.05 {
		t.Errorf("clip.ready says %.3f s, ffprobe %.3f s", d, p.Duration())
	}
}

// checkRawPart checks the file a kill left, before kioskd touches it:
// ffprobe reads it, it starts on a keyframe and holds at least atLeast
// less two seconds (the fragment being filled and the frames in flight).
// waitPlayable waits until ffprobe finds a picture in the file at path.
func waitPlayable(t *testing.T, path string, limit time.Duration) {
	t.Helper()
	for deadline := time.Now().Add(limit); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		out, err := exec.Command("ffprobe", "-v", "error", "-select_streams", "v:0", "-of", "csv",
			"-show_entries", "packet=flags", path).Output()
		if err == nil && len(out) > 0 {
			return
		}
	}
	t.Fatalf("%s: no picture written within %v of clip.recording", path, limit)
}

func checkRawPart(t *testing.T, path string, atLeast time.Duration) {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-select_streams", "v:0", "-of", "json",
		"-show_entries", "packet=pts_time,flags", path).Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		info, serr := os.Stat(path)
		t.Fatalf("ffprobe of the file the kill left (%v, stat error %v): %v: %s", info, serr, err, stderr)
	}
	var raw struct {
		Packets []struct {
			PTS   float64 `json:"pts_time,string"`
			Flags string
		}
	}
	if err := json.Unmarshal(out, &raw); err != nil || len(raw.Packets) == 0 {
		t.Fatalf("ffprobe of the file the kill left: %v, %d pictures", err, len(raw.Packets))
	}
	first, last := raw.Packets[0], raw.Packets[len(raw.Packets)-1]
	if !strings.HasPrefix(first.Flags, "K") || last.PTS-first.PTS < (atLeast-2*time.Second).Seconds() {
		t.Errorf("the file the kill left: first picture flags %q, %.2f s; want a keyframe first and ≥ %v",
			first.Flags, last.PTS-first.PTS, atLeast-2*time.Second)
	}
}
