package firmware

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"kioskd/firmware/outbox"
	"kioskd/kiosk"
)

// clipOfIncident waits for the clip.ready event of an incident.
func (r *camRig) clipOfIncident(incident string) kiosk.Clip {
	r.t.Helper()
	var c kiosk.Clip
	waitFor(r.t, "clip.ready of "+incident, 10*time.Second, func() bool {
		for _, ev := range r.events(kiosk.EvClipReady) {
			if ev.Incident == incident {
				c = clipOf(r.t, ev)
				return true
			}
		}
		return false
	})
	return c
}

func (r *camRig) close(incident string) {
	r.t.Helper()
	r.submit(kiosk.Close{Incident: incident, By: "王警官", Outcome: "已处理"})
}

// get GETs a clip from srv with an optional Range and reads it through.
func (r *camRig) get(srv *httptest.Server, clip, rng string) int {
	r.t.Helper()
	req, _ := http.NewRequest("GET", srv.URL+"/api/clips/"+clip+"?token="+r.cs.tokens.Mint("clip", clip), nil)
	if rng != "" {
		req.Header.Set("Range", rng)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		r.t.Fatal(err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

// waitFetched waits until the clip server has noted a clip fetched whole:
// it does so after the last byte went out, so after the client has it.
func (r *camRig) waitFetched(clip string) {
	r.t.Helper()
	waitFor(r.t, clip+" marked fetched", 5*time.Second, func() bool {
		c, err := r.j.ClipByID(clip)
		return err == nil && !c.FetchedAt.IsZero()
	})
}

func clipServer(r *camRig, platform bool) *httptest.Server {
	mux := http.NewServeMux()
	r.cs.clipRoutes(mux, platform)
	srv := httptest.NewServer(mux)
	r.t.Cleanup(srv.Close)
	return srv
}

// TestRetentionKeepsWhatThePlatformLacks: with max_age and quota of
// nothing, a clip stays while its incident is open, while it is unacked,
// and, acked and closed, until the platform holds its bytes: a guard's
// download and part of a fetch do not count; ranges from the clip server
// covering the whole file do.
func TestRetentionKeepsWhatThePlatformLacks(t *testing.T) {
	r := newCamRig(t, map[string]string{"door": "online"})
	inc, clip := r.readyClip()
	r.cs.clips.Quota.Bytes, r.cs.clips.MaxAge.Duration = 0, time.Nanosecond
	path := r.cs.clipPath(clip.ID + ".mp4")
	br := &bridge{Outbox: outbox.New(r.j, r.ctrl, r.cs.log), journal: r.j, controller: r.ctrl, log: r.cs.log, cameras: r.cs}
	guard, platform := clipServer(r, false), clipServer(r, true)
	half := clip.Bytes / 2
	steps := []struct {
		name string
		do   func()
		kept bool
	}{
		{"open and unacked", func() {}, true},
		{"acked, still open", func() { ackEvents(t, br, r.events(kiosk.EvClipReady)) }, true},
		{"acked and closed, never fetched", func() { r.close(inc) }, true},
		{"fetched whole by a guard", func() { r.get(guard, clip.ID, "") }, true},
		{"first half fetched by the platform", func() { r.get(platform, clip.ID, fmt.Sprintf("bytes=0-%d", half-1)) }, true},
		{"a HEAD of the rest", func() {
			req, _ := http.NewRequest("HEAD", platform.URL+"/api/clips/"+clip.ID+"?token="+r.cs.tokens.Mint("clip", clip.ID), nil)
			http.DefaultClient.Do(req)
		}, true},
		{"second half fetched by the platform", func() {
			r.get(platform, clip.ID, fmt.Sprintf("bytes=%d-", half))
			r.waitFetched(clip.ID)
		}, false},
	}
	for _, s := range steps {
		s.do()
		r.cs.keepStore(t.Context())
		_, err := os.Stat(path)
		if kept := err == nil; kept != s.kept {
			t.Fatalf("%s: file kept = %v, want %v", s.name, kept, s.kept)
		}
	}
	if _, err := r.j.ClipByID(clip.ID); err == nil {
		t.Error("deleted clip still indexed")
	}
	if n := len(r.events(kiosk.EvClipEvicted)); n != 0 {
		t.Errorf("%d clip.evicted events for a routine deletion, want none", n)
	}
}

// TestLowDiskEvictsOldestClosed: when free space is under clips.low_disk,
// clips of closed incidents go, one the platform holds first, then the
// oldest, each with a clip.evicted event; a clip of an open incident stays.
func TestLowDiskEvictsOldestClosed(t *testing.T) {
	r := newCamRig(t, map[string]string{"door": "online"})
	oldInc, oldClip := r.readyClip()
	r.close(oldInc)
	midInc := r.press()
	midClip := r.clipOfIncident(midInc)
	r.close(midInc)
	heldInc := r.press()
	heldClip := r.clipOfIncident(heldInc)
	r.close(heldInc)
	if code := r.get(clipServer(r, true), heldClip.ID, ""); code != http.StatusOK {
		t.Fatalf("fetch: %d", code)
	}
	r.waitFetched(heldClip.ID)
	openClip := r.clipOfIncident(r.press())

	low := r.cs.clips.LowDisk.Bytes
	r.free.Store(low - heldClip.Bytes - 1) // one clip more than the held one is needed
	r.cs.keepStore(t.Context())
	r.free.Store(0) // then everything that may go
	r.cs.keepStore(t.Context())

	evicted := r.events(kiosk.EvClipEvicted)
	want := []struct {
		clip string
		had  bool
	}{{heldClip.ID, true}, {oldClip.ID, false}, {midClip.ID, false}}
	if len(evicted) != len(want) {
		t.Fatalf("%d clip.evicted events, want %d: %v", len(evicted), len(want), evicted)
	}
	for i, w := range want {
		var data struct {
			Clip        kiosk.Clip
			Reason      string
			PlatformHad bool `json:"platform_had"`
		}
		json.Unmarshal(evicted[i].Data, &data)
		if data.Clip.ID != w.clip || data.PlatformHad != w.had || data.Reason != "low_disk" || data.Clip.State != "evicted" {
			t.Errorf("clip.evicted %d: %s, want clip %s, platform_had %v, reason low_disk, state evicted", i, evicted[i].Data, w.clip, w.had)
		}
		if _, err := os.Stat(r.cs.clipPath(w.clip + ".mp4")); err == nil {
			t.Errorf("evicted clip %s still on disk", w.clip)
		}
	}
	if _, err := os.Stat(r.cs.clipPath(openClip.ID + ".mp4")); err != nil {
		t.Errorf("the open incident's clip was deleted: %v", err)
	}
}

// TestClipEndsAfterRecording: every clip's end, even of a clip whose
// camera process was not running or crashed under it, comes after its
// clip.recording.
func TestClipEndsAfterRecording(t *testing.T) {
	r := newCamRig(t, map[string]string{"door": "crash"})
	const presses = 5
	for range presses {
		inc := r.press()
		time.Sleep(150 * time.Millisecond)
		r.close(inc)
	}
	waitFor(t, "every clip ended", 10*time.Second, func() bool {
		return len(r.events(kiosk.EvClipReady, kiosk.EvClipFailed)) >= presses
	})
	checkClipOrder(t, r.events(kiosk.EvClipRecording, kiosk.EvClipReady, kiosk.EvClipFailed), presses)
}

// TestFetchTrackerCoverage: ranges sent in any order and overlap cover a
// file only when together they leave no byte out.
func TestFetchTrackerCoverage(t *testing.T) {
	tests := []struct {
		name  string
		spans []span
		whole bool
	}{
		{"one 200", []span{{0, 100}}, true},
		{"two halves, last first", []span{{50, 100}, {0, 50}}, true},
		{"overlapping", []span{{0, 60}, {40, 100}}, true},
		{"a gap", []span{{0, 49}, {50, 100}}, false},
		{"three pieces", []span{{70, 100}, {0, 30}, {30, 70}}, true},
		{"tail missing", []span{{0, 99}}, false},
	}
	for _, tt := range tests {
		ft := newFetchTracker()
		whole := false
		for _, s := range tt.spans {
			whole = ft.add("c", s.from, s.to, 100)
		}
		if whole != tt.whole {
			t.Errorf("%s: whole = %v, want %v", tt.name, whole, tt.whole)
		}
	}
}
