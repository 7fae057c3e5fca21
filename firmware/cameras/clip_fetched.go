package cameras

import (
	"cmp"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
)

// When a fetch counts as the platform holding a clip: the clip server
// (never the guard console) answered GETs of the clip with 200 or 206 and
// wrote every byte it promised, and the ranges so written, over any
// number of requests, cover the whole file. The kiosk cannot see what
// arrived past its socket; the platform checks sha256 and asks for
// upload_clip if its copy is bad. Coverage lives in memory: a restart
// forgets partial coverage, which only keeps a file longer.

const (
	// maxTrackedFetches bounds the clips with partial coverage in memory;
	// past it the oldest entry is forgotten (its file is kept longer).
	maxTrackedFetches = 256
	maxSpans          = 64 // disjoint ranges noted per clip, merged as they touch
)

type span struct{ from, to int64 } // bytes [from, to)

// fetchTracker gathers the byte ranges of each clip the clip server sent.
type fetchTracker struct {
	mu    sync.Mutex
	spans map[string][]span
	order []string // clip ids, oldest first
}

func newFetchTracker() *fetchTracker { return &fetchTracker{spans: map[string][]span{}} }

// add notes that bytes [from, to) of a clip of size bytes were sent, and
// reports whether the clip's whole file has now been sent.
func (ft *fetchTracker) add(id string, from, to, size int64) bool {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	got, known := ft.spans[id]
	if !known {
		if len(ft.order) >= maxTrackedFetches {
			delete(ft.spans, ft.order[0])
			ft.order = ft.order[1:]
		}
		ft.order = append(ft.order, id)
	}
	got = mergeSpan(got, span{from, to})
	if len(got) > maxSpans {
		got = got[len(got)-maxSpans:]
	}
	if len(got) == 1 && got[0].from <= 0 && got[0].to >= size {
		delete(ft.spans, id)
		ft.order = slices.DeleteFunc(ft.order, func(s string) bool { return s == id })
		return true
	}
	ft.spans[id] = got
	return false
}

// mergeSpan adds s to sorted disjoint spans, joining those it touches.
func mergeSpan(spans []span, s span) []span {
	out := make([]span, 0, len(spans)+1)
	for _, o := range spans {
		switch {
		case o.to < s.from || o.from > s.to:
			out = append(out, o)
		default:
			s = span{min(o.from, s.from), max(o.to, s.to)}
		}
	}
	out = append(out, s)
	slices.SortFunc(out, func(a, b span) int { return cmp.Compare(a.from, b.from) })
	return out
}

// sentRange is the byte range a finished clip response wrote whole, if it
// wrote one: a 200 with the whole file, or a single-range 206.
func sentRange(w *countingWriter, size int64) (span, bool) {
	switch w.status {
	case http.StatusOK:
		return span{0, size}, w.n == size
	case http.StatusPartialContent:
		var from, to, total int64
		cr := w.Header().Get("Content-Range")
		if _, err := fmt.Sscanf(cr, "bytes %d-%d/%d", &from, &to, &total); err != nil || total != size ||
			strings.HasPrefix(w.Header().Get("Content-Type"), "multipart/") {
			return span{}, false
		}
		return span{from, to + 1}, w.n == to+1-from
	}
	return span{}, false
}

// countingWriter counts the body bytes a handler wrote and keeps its status.
type countingWriter struct {
	http.ResponseWriter
	status int
	n      int64
}

func (c *countingWriter) WriteHeader(code int) {
	if c.status == 0 {
		c.status = code
	}
	c.ResponseWriter.WriteHeader(code)
}

func (c *countingWriter) Write(b []byte) (int, error) {
	if c.status == 0 {
		c.status = http.StatusOK
	}
	n, err := c.ResponseWriter.Write(b)
	c.n += int64(n)
	return n, err
}
