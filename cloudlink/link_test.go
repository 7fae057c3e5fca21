package cloudlink

import (
	"math/rand/v2"
	"testing"
	"time"
)

func TestBackoffBounds(t *testing.T) {
	const lo, hi = 500 * time.Millisecond, 30 * time.Second
	top := func(k int64) int64 { return k - 1 } // the largest value randN may give
	zero := func(int64) int64 { return 0 }
	tests := []struct {
		n    int
		want time.Duration // the ceiling for attempt n
	}{
		{0, lo},
		{1, 2 * lo},
		{2, 4 * lo},
		{5, 16 * time.Second},
		{6, hi},
		{7, hi},
		{100, hi},
		{1 << 20, hi},
	}
	for _, tt := range tests {
		if got := backoff(lo, hi, tt.n, top); got != tt.want {
			t.Errorf("backoff(n=%d) at the top: got %v, want %v", tt.n, got, tt.want)
		}
		if got := backoff(lo, hi, tt.n, zero); got != 0 {
			t.Errorf("backoff(n=%d) at the bottom: got %v, want 0", tt.n, got)
		}
	}
}

func TestWaitLimitFollowsOutage(t *testing.T) {
	cfg := Config{BackoffMin: 500 * time.Millisecond, BackoffMax: 30 * time.Second}
	tests := []struct {
		down, want time.Duration
	}{
		{0, 500 * time.Millisecond},
		{2 * time.Second, 2 * time.Second},
		{time.Minute, 30 * time.Second},
	}
	for _, tt := range tests {
		if got := waitLimit(cfg, tt.down); got != tt.want {
			t.Errorf("waitLimit(down %v) = %v, want %v", tt.down, got, tt.want)
		}
		// However many attempts failed, the wait stays within the limit.
		if got := backoff(cfg.BackoffMin, waitLimit(cfg, tt.down), 100, func(k int64) int64 { return k - 1 }); got != tt.want {
			t.Errorf("backoff after 100 attempts, down %v = %v, want %v", tt.down, got, tt.want)
		}
	}
}

func TestBackoffJitter(t *testing.T) {
	const lo, hi = 100 * time.Millisecond, 10 * time.Second
	for _, n := range []int{0, 3, 50} {
		ceil := min(hi, lo<<min(n, 20))
		seen := map[time.Duration]bool{}
		var sum time.Duration
		const samples = 1000
		for range samples {
			d := backoff(lo, hi, n, rand.Int64N)
			if d < 0 || d > ceil {
				t.Fatalf("backoff(n=%d): got %v, want within [0, %v]", n, d, ceil)
			}
			seen[d] = true
			sum += d
		}
		if len(seen) < samples/2 {
			t.Errorf("backoff(n=%d): got %d distinct waits of %d, want jitter", n, len(seen), samples)
		}
		// Full jitter: the mean is half the ceiling; allow a wide margin.
		if mean := sum / samples; mean < ceil/4 || mean > ceil*3/4 {
			t.Errorf("backoff(n=%d): got mean %v, want about %v", n, mean, ceil/2)
		}
	}
}
