package clipfile_test

import (
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"kioskd/devices/clipfile"
	"kioskd/hack/fakecam/camsim"
)

// writeFrames writes n frames of the committed loop clip (25 fps, 2 s GOP)
// to a new clip file and returns the writer, open.
func writeFrames(t *testing.T, path string, n int) *clipfile.Writer {
	t.Helper()
	src, err := camsim.LoadAnnexB(filepath.Join("..", "..", "hack", "fakecam", "testdata", "loop.h264"), 25)
	if err != nil {
		t.Fatal(err)
	}
	w, err := clipfile.Create(path, clipfile.Codec{SPS: src.SPS, PPS: src.PPS})
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		au := src.AUs[i%len(src.AUs)]
		var data []byte
		for _, nal := range au.NALs {
			data = binary.BigEndian.AppendUint32(data, uint32(len(nal)))
			data = append(data, nal...)
		}
		pts := 7*time.Hour + time.Duration(i)*src.FrameDur // any origin
		if err := w.Write(data, au.Key, pts); err != nil {
			t.Fatal(err)
		}
	}
	return w
}

func probe(t *testing.T, path string) camsim.Probe {
	t.Helper()
	p, err := camsim.ProbeFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Packets) == 0 || !p.Packets[0].Key {
		t.Fatalf("first picture is not a keyframe: %+v", p.Packets[:min(3, len(p.Packets))])
	}
	return p
}

// TestClosedClipPlays: a closed clip holds every frame and ffprobe reads it.
func TestClosedClipPlays(t *testing.T) {
	camsim.RequireFFmpeg(t)
	path := filepath.Join(t.TempDir(), "c.mp4")
	w := writeFrames(t, path, 150) // 6 s
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	p := probe(t, path)
	if len(p.Packets) != 150 || math.Abs(p.Duration()-149*0.04) > 0.001 {
		t.Errorf("%d pictures over %.3f s, want 150 over 5.960 s", len(p.Packets), p.Duration())
	}
	info, err := clipfile.Repair(path)
	if err != nil || info.Cut != 0 || info.Fragments < 6 || info.Duration != 5960*time.Millisecond {
		t.Errorf("repair of a closed clip: %+v, %v; want nothing cut, ≥ 6 fragments, 5.96 s", info, err)
	}
}

// TestKilledClipRepairs: a clip whose writer vanished mid-fragment, its
// last write torn, is cut after its last whole fragment and plays: it
// keeps all but at most FragmentEvery of what was given.
func TestKilledClipRepairs(t *testing.T) {
	camsim.RequireFFmpeg(t)
	path := filepath.Join(t.TempDir(), "c.mp4.part")
	w := writeFrames(t, path, 180) // 7.2 s given, never closed
	w.Abort()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte{0, 0, 0x40, 0, 'm', 'o', 'o', 'f', 1, 2, 3}) // a torn fragment
	f.Close()
	if _, err := camsim.ProbeFile(path); err == nil {
		t.Log("ffmpeg decodes the torn file without complaint")
	}
	info, err := clipfile.Repair(path)
	if err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(path)
	p := probe(t, path)
	t.Logf("repair %+v; ffprobe %d pictures over %.3f s", info, len(p.Packets), p.Duration())
	if info.Cut != 11 || st.Size() != info.Bytes {
		t.Errorf("cut %d bytes, file %d bytes, info %d: want the 11 torn bytes cut", info.Cut, st.Size(), info.Bytes)
	}
	if got := info.Duration.Seconds(); math.Abs(got-p.Duration()) > 0.001 || got < 7.16-clipfile.FragmentEvery.Seconds() {
		t.Errorf("repair says %.3f s, ffprobe %.3f s; want them equal and ≥ %.2f s", got, p.Duration(), 7.16-clipfile.FragmentEvery.Seconds())
	}
}

// TestRepairRefusesEmpty: a file with its index and no whole fragment has
// nothing playable.
func TestRepairRefusesEmpty(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.mp4.part")
	w := writeFrames(t, path, 10) // under one fragment
	w.Abort()
	if _, err := clipfile.Repair(path); !errors.Is(err, clipfile.ErrNothingPlayable) {
		t.Errorf("repair: %v, want ErrNothingPlayable", err)
	}
	os.WriteFile(path, []byte("not a clip at all"), 0o600)
	if _, err := clipfile.Repair(path); !errors.Is(err, clipfile.ErrNothingPlayable) {
		t.Errorf("repair of garbage: %v, want ErrNothingPlayable", err)
	}
}
