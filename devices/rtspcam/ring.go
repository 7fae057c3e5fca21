package rtspcam

import "time"

// gop is a keyframe and the frames that follow it up to the next keyframe.
type gop struct {
	frames []*frame
	bytes  int64
}

func (g *gop) start() *frame { return g.frames[0] }

// ring is the pre-roll: whole GOPs, oldest first, holding at least keep of
// video before the newest frame, and never more than maxBytes of frame data
// (then whole oldest GOPs go even if that shortens the pre-roll). All its
// frames share one decoder configuration. Not safe for concurrent use.
type ring struct {
	keep     time.Duration
	maxBytes int64
	gops     []*gop
	bytes    int64
	gopSpan  time.Duration // pts span between the last two keyframes
	trimmed  int           // GOPs dropped early to stay under maxBytes
}

// add appends a frame. Frames before the first keyframe are dropped, and
// a frame with a new decoder configuration empties the ring first.
func (r *ring) add(f *frame) {
	if len(r.gops) > 0 && r.newest().params != f.params {
		r.clear()
	}
	switch {
	case f.key:
		if len(r.gops) > 0 {
			r.gopSpan = f.pts - r.gops[len(r.gops)-1].start().pts
		}
		r.gops = append(r.gops, &gop{})
	case len(r.gops) == 0:
		return
	}
	g := r.gops[len(r.gops)-1]
	g.frames = append(g.frames, f)
	g.bytes += int64(len(f.data))
	r.bytes += int64(len(f.data))
	r.trim(f.at)
}

// trim drops the oldest GOP while the next one alone starts early enough,
// or while the ring holds too many bytes.
func (r *ring) trim(now time.Time) {
	for len(r.gops) > 1 && !r.gops[1].start().at.After(now.Add(-r.keep)) {
		r.dropOldest()
	}
	for r.bytes > r.maxBytes && len(r.gops) > 0 {
		r.dropOldest()
		r.trimmed++
	}
}

func (r *ring) dropOldest() {
	r.bytes -= r.gops[0].bytes
	r.gops[0] = nil
	r.gops = r.gops[1:]
}

func (r *ring) clear() {
	r.gops, r.bytes, r.gopSpan = nil, 0, 0
}

func (r *ring) newest() *frame {
	g := r.gops[len(r.gops)-1]
	return g.frames[len(g.frames)-1]
}

// span is the time between the oldest and the newest frame held.
func (r *ring) span() time.Duration {
	if len(r.gops) == 0 {
		return 0
	}
	return r.newest().at.Sub(r.gops[0].start().at)
}

// since returns the frames from the latest keyframe at or before t; if
// the ring starts after t, from its oldest keyframe.
func (r *ring) since(t time.Time) []*frame {
	i := 0
	for j, g := range r.gops {
		if !g.start().at.After(t) {
			i = j
		}
	}
	var out []*frame
	for _, g := range r.gops[min(i, len(r.gops)):] {
		out = append(out, g.frames...)
	}
	return out
}
