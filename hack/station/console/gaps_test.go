package console

import (
	"fmt"
	"testing"
	"time"
)

func TestGapTracker(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	grace := 10 * time.Second
	tests := []struct {
		name    string
		seqs    []uint64 // each arrives one second after the previous
		checkAt time.Duration
		want    string
	}{
		{"in order", []uint64{1, 2, 3, 4}, time.Minute, "[]"},
		{"duplicates", []uint64{1, 2, 2, 3, 1}, time.Minute, "[]"},
		{"gap within grace", []uint64{1, 2, 5}, 5 * time.Second, "[]"},
		{"gap beyond grace", []uint64{1, 2, 5}, time.Minute, "[3-4]"},
		{"filled late", []uint64{1, 2, 5, 3, 4}, time.Minute, "[]"},
		{"split by a late one", []uint64{1, 9, 5}, time.Minute, "[2-4 6-8]"},
		{"filled at both ends", []uint64{1, 6, 2, 5}, time.Minute, "[3-4]"},
		{"urgent overtakes backlog", []uint64{10, 3, 4}, time.Minute, "[5-9]"},
		{"backlog below first seen", []uint64{10, 8}, time.Minute, "[9-9]"},
		{"adjacent below", []uint64{10, 9, 8}, time.Minute, "[]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewGapTracker()
			for i, s := range tt.seqs {
				g.Add("k1", 0, s, t0.Add(time.Duration(i)*time.Second))
			}
			if got := gapString(g.Gaps(t0.Add(tt.checkAt), grace)); got != tt.want {
				t.Errorf("gaps after %v: got %s, want %s", tt.seqs, got, tt.want)
			}
		})
	}
}

func TestGapTrackerNewGenerationForgetsOld(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	g := NewGapTracker()
	g.Add("k1", 0, 1, t0)
	g.Add("k1", 0, 5, t0) // 2-4 missing in generation 0
	g.Add("k2", 0, 1, t0)
	g.Add("k2", 0, 3, t0)
	g.Add("k1", 1, 1, t0) // k1's journal started again
	g.Add("k1", 1, 2, t0)
	gaps := g.Gaps(t0.Add(time.Hour), time.Second)
	if len(gaps) != 1 || gaps[0].Kiosk != "k2" || gaps[0].From != 2 || gaps[0].To != 2 {
		t.Errorf("gaps: got %+v, want only k2's seq 2", gaps)
	}
	gen, lo, hi, ok := g.Span("k1")
	if !ok || gen != 1 || lo != 1 || hi != 2 {
		t.Errorf("k1 span: got gen %d %d-%d (%v), want gen 1 1-2", gen, lo, hi, ok)
	}
}

func gapString(gaps []Gap) string {
	s := "["
	for i, g := range gaps {
		if i > 0 {
			s += " "
		}
		s += fmt.Sprintf("%d-%d", g.From, g.To)
	}
	return s + "]"
}
