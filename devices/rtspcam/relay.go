package rtspcam

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"kioskd/devices"
)

// The live relay: one camera session, many viewers. The serve loop hands
// every frame to publish, which never blocks: each viewer has a bounded
// queue, and a viewer whose queue is full is dropped (counted) rather than
// slowing ingest or the clips. A new viewer starts at the latest keyframe.
// The viewers are served on a unix socket (relay_listen.go) as RTSP
// (relay_rtsp.go) or as fragmented MP4 for the browser (relay_fmp4.go).

const (
	// viewerQueue is how many frames a viewer may fall behind (on top of
	// the GOP it starts with) before it is dropped: 4 s at 25 fps.
	viewerQueue = 100
	// joinWait is how long a new viewer waits for a first keyframe.
	joinWait = 5 * time.Second
	// maxGOPFrames and maxGOPBytes bound the frames held for new viewers
	// when a camera sends keyframes rarely; past them new viewers wait
	// for the next keyframe.
	maxGOPFrames = 1000
	maxGOPBytes  = 32 << 20
)

// Why the relay ends a viewer, or refuses one.
var (
	errDropSlow  = errors.New("dropped: the viewer fell more than its queue behind")
	errDropCodec = errors.New("the camera changed its codec parameters")
	errNoVideo   = errors.New("no video from the camera yet")
)

// viewer is one live viewer's queue. Its ctx ends when the viewer's
// connection does, or when the relay drops it (the cause says why).
type viewer struct {
	frames chan *frame
	ctx    context.Context
	cancel context.CancelCauseFunc
}

// relay fans frames out to viewers. publish is called by the serve loop;
// join and leave by the viewers' goroutines.
type relay struct {
	mu       sync.Mutex
	params   *params
	gop      []*frame // from the latest keyframe; empty until one comes
	gopBytes int
	viewers  map[*viewer]struct{}
	keyframe chan struct{} // closed when a keyframe comes, then replaced

	served  atomic.Int64 // viewers ever joined
	dropped atomic.Int64 // viewers dropped for being slow
	bytes   atomic.Int64 // bytes written to viewers
}

func newRelay() *relay {
	return &relay{viewers: map[*viewer]struct{}{}, keyframe: make(chan struct{})}
}

// publish hands a frame to every viewer without blocking.
func (r *relay) publish(f *frame) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if f.params != r.params {
		for v := range r.viewers {
			r.drop(v, errDropCodec)
		}
		r.params = f.params
		r.resetGOP()
	}
	switch {
	case f.key:
		r.resetGOP()
		close(r.keyframe) // resetGOP left it open
	case len(r.gop) >= maxGOPFrames || r.gopBytes >= maxGOPBytes:
		r.resetGOP() // new viewers wait for the next keyframe
	}
	if len(r.gop) > 0 || f.key { // else no keyframe to start from
		r.gop = append(r.gop, f)
		r.gopBytes += len(f.data)
	}
	for v := range r.viewers {
		select {
		case v.frames <- f:
		default:
			r.drop(v, errDropSlow)
			r.dropped.Add(1)
		}
	}
}

// resetGOP forgets the frames held for new viewers. Call with mu held.
func (r *relay) resetGOP() {
	clear(r.gop)
	r.gop, r.gopBytes = r.gop[:0], 0
	select {
	case <-r.keyframe:
		r.keyframe = make(chan struct{})
	default:
	}
}

// drop removes a viewer and tells it why. Call with mu held.
func (r *relay) drop(v *viewer, why error) {
	delete(r.viewers, v)
	v.cancel(why)
}

// join adds a viewer, its queue primed with the frames since the latest
// keyframe. It waits up to joinWait for a keyframe (errNoVideo if none
// comes). The viewer's frames all have the returned decoder configuration.
func (r *relay) join(ctx context.Context) (*viewer, *params, error) {
	if err := r.awaitKeyframe(ctx); err != nil {
		return nil, nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.gop) == 0 { // reset since: rare, and the client may retry
		return nil, nil, errNoVideo
	}
	v := &viewer{frames: make(chan *frame, viewerQueue+len(r.gop))}
	v.ctx, v.cancel = context.WithCancelCause(ctx)
	for _, f := range r.gop {
		v.frames <- f
	}
	r.viewers[v] = struct{}{}
	r.served.Add(1)
	return v, r.params, nil
}

// awaitKeyframe waits up to joinWait until the relay holds a keyframe.
func (r *relay) awaitKeyframe(ctx context.Context) error {
	wait := time.NewTimer(joinWait)
	defer wait.Stop()
	for {
		r.mu.Lock()
		ready, keyframe := len(r.gop) > 0, r.keyframe
		r.mu.Unlock()
		if ready {
			return nil
		}
		select {
		case <-keyframe:
		case <-wait.C:
			return errNoVideo
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// leave removes a viewer that ended by itself.
func (r *relay) leave(v *viewer) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.viewers, v)
	v.cancel(nil)
}

// currentParams returns the decoder configuration new viewers get,
// waiting up to joinWait for a first keyframe.
func (r *relay) currentParams(ctx context.Context) (*params, error) {
	if err := r.awaitKeyframe(ctx); err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.params, nil
}

// stats is what the relay reports in the camera's health.
func (r *relay) stats() *devices.RelayStats {
	r.mu.Lock()
	n := len(r.viewers)
	r.mu.Unlock()
	return &devices.RelayStats{Viewers: n, Served: r.served.Load(), Dropped: r.dropped.Load(), Bytes: r.bytes.Load()}
}
