package console

import (
	"cmp"
	"slices"
	"sort"
	"time"
)

// Gap is a run of seqs missing between seqs a kiosk has sent. Seq is
// gap-free per kiosk journal, but arrival is not in seq order (urgent events
// overtake the backlog, re-sends, shared subscriptions), so a gap is only a
// finding once it has lasted beyond a grace period.
type Gap struct {
	Kiosk string    `json:"kiosk"`
	Gen   uint64    `json:"gen"` // the kiosk's sequence generation (a new journal starts a new one)
	From  uint64    `json:"from"`
	To    uint64    `json:"to"` // inclusive
	Since time.Time `json:"since"`
}

// Count is how many seqs the gap misses.
func (g Gap) Count() uint64 { return g.To - g.From + 1 }

// seqKey names one kiosk's sequence generation.
type seqKey struct {
	kiosk string
	gen   uint64
}

// seqRun is what is known of one sequence: the lowest and highest seq seen
// and the missing runs between them, in ascending order.
type seqRun struct {
	min, max uint64
	missing  []Gap
}

// GapTracker follows the seqs of every kiosk's current generation. It is not
// safe for concurrent use.
type GapTracker struct {
	runs map[seqKey]*seqRun
}

// NewGapTracker returns an empty tracker.
func NewGapTracker() *GapTracker { return &GapTracker{runs: map[seqKey]*seqRun{}} }

// Add records that seq of kiosk's generation gen arrived at now. A new
// generation replaces the kiosk's older one.
func (t *GapTracker) Add(kiosk string, gen, seq uint64, now time.Time) {
	key := seqKey{kiosk, gen}
	r := t.runs[key]
	if r == nil {
		for k := range t.runs {
			if k.kiosk == kiosk && k.gen < gen {
				delete(t.runs, k)
			}
		}
		t.runs[key] = &seqRun{min: seq, max: seq}
		return
	}
	switch {
	case seq > r.max:
		if seq > r.max+1 {
			r.missing = append(r.missing, Gap{Kiosk: kiosk, Gen: gen, From: r.max + 1, To: seq - 1, Since: now})
		}
		r.max = seq
	case seq < r.min:
		if seq < r.min-1 {
			r.missing = slices.Insert(r.missing, 0, Gap{Kiosk: kiosk, Gen: gen, From: seq + 1, To: r.min - 1, Since: now})
		}
		r.min = seq
	default:
		r.fill(seq)
	}
}

// fill removes seq from the missing runs, splitting a run if needed.
func (r *seqRun) fill(seq uint64) {
	i := sort.Search(len(r.missing), func(i int) bool { return r.missing[i].To >= seq })
	if i == len(r.missing) || r.missing[i].From > seq {
		return // not missing: a duplicate
	}
	g := r.missing[i]
	switch {
	case g.From == seq && g.To == seq:
		r.missing = slices.Delete(r.missing, i, i+1)
	case g.From == seq:
		r.missing[i].From++
	case g.To == seq:
		r.missing[i].To--
	default:
		left, right := g, g
		left.To, right.From = seq-1, seq+1
		r.missing[i] = left
		r.missing = slices.Insert(r.missing, i+1, right)
	}
}

// Gaps returns the gaps that have lasted at least grace by now, by kiosk.
func (t *GapTracker) Gaps(now time.Time, grace time.Duration) []Gap {
	var out []Gap
	for _, r := range t.runs {
		for _, g := range r.missing {
			if now.Sub(g.Since) >= grace {
				out = append(out, g)
			}
		}
	}
	slices.SortFunc(out, func(a, b Gap) int {
		return cmp.Or(cmp.Compare(a.Kiosk, b.Kiosk), cmp.Compare(a.From, b.From))
	})
	return out
}

// Span returns the lowest and highest seq seen of a kiosk's current generation.
func (t *GapTracker) Span(kiosk string) (gen, lo, hi uint64, ok bool) {
	for k, r := range t.runs {
		if k.kiosk == kiosk {
			return k.gen, r.min, r.max, true
		}
	}
	return 0, 0, 0, false
}
