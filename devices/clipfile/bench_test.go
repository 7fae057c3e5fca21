package clipfile_test

import (
	"path/filepath"
	"testing"
	"time"

	"kioskd/devices/clipfile"
	"kioskd/hack/fakecam/camsim"
)

// BenchmarkWriter writes one second of 4 Mbit/s video (25 frames, a 100 KB
// keyframe and 24 P-frames of 16 KB) per op, fragments, fsyncs and all.
func BenchmarkWriter(b *testing.B) {
	src, err := camsim.LoadAnnexB(filepath.Join("..", "..", "hack", "fakecam", "testdata", "loop.h264"), 25)
	if err != nil {
		b.Fatal(err)
	}
	w, err := clipfile.Create(filepath.Join(b.TempDir(), "c.mp4"), clipfile.Codec{SPS: src.SPS, PPS: src.PPS})
	if err != nil {
		b.Fatal(err)
	}
	key, p := make([]byte, 100<<10), make([]byte, 16<<10)
	b.SetBytes(100<<10 + 24*16<<10)
	for i := range b.N {
		for f := range 25 {
			data := p
			if f == 0 {
				data = key
			}
			if err := w.Write(data, f == 0, time.Duration(i*25+f)*40*time.Millisecond); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
}
