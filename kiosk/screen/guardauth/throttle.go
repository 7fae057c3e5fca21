package guardauth

import "time"

// throttle counts failed logins per key (a user name, or a client address)
// and locks a key out after limit failures. It remembers at most max keys:
// when full, it forgets the ones whose failures have aged out, then the one
// that failed longest ago. It is not safe for concurrent use; Auth guards it.
type throttle struct {
	limit   int
	window  time.Duration // how long a lockout lasts and failures are remembered
	max     int
	entries map[string]*failures
}

type failures struct {
	count       int
	last        time.Time
	lockedUntil time.Time
}

func newThrottle(limit int, window time.Duration, max int) *throttle {
	return &throttle{limit: limit, window: window, max: max, entries: map[string]*failures{}}
}

// lockedUntil returns when key's lockout ends, or the zero time if it has none.
func (t *throttle) lockedUntil(key string, now time.Time) time.Time {
	if e := t.entries[key]; e != nil && now.Before(e.lockedUntil) {
		return e.lockedUntil
	}
	return time.Time{}
}

// fail counts one failure of key; the limit-th locks it out.
func (t *throttle) fail(key string, now time.Time) {
	e := t.entries[key]
	if e == nil {
		t.makeRoom(now)
		e = &failures{}
		t.entries[key] = e
	}
	if t.stale(e, now) {
		*e = failures{}
	}
	e.count++
	e.last = now
	if e.count >= t.limit {
		e.lockedUntil = now.Add(t.window)
	}
}

// forgive takes back one failure counted in advance for an attempt that
// turned out right.
func (t *throttle) forgive(key string) {
	e := t.entries[key]
	if e == nil {
		return
	}
	e.count--
	if e.count < t.limit {
		e.lockedUntil = time.Time{}
	}
	if e.count <= 0 {
		delete(t.entries, key)
	}
}

// reset forgets every failure of key.
func (t *throttle) reset(key string) { delete(t.entries, key) }

// stale: the lockout is over and the last failure is older than the window.
func (t *throttle) stale(e *failures, now time.Time) bool {
	return !now.Before(e.lockedUntil) && now.Sub(e.last) >= t.window
}

func (t *throttle) makeRoom(now time.Time) {
	if len(t.entries) < t.max {
		return
	}
	for k, e := range t.entries {
		if t.stale(e, now) {
			delete(t.entries, k)
		}
	}
	for len(t.entries) >= t.max {
		delete(t.entries, t.evictable(now))
	}
}

// evictable is the key to forget first: one not locked out if there is
// any, the one whose last failure is oldest among those.
func (t *throttle) evictable(now time.Time) string {
	var best string
	var bestE *failures
	for k, e := range t.entries {
		if bestE == nil || t.before(e, bestE, now) {
			best, bestE = k, e
		}
	}
	return best
}

func (t *throttle) before(a, b *failures, now time.Time) bool {
	aLocked, bLocked := now.Before(a.lockedUntil), now.Before(b.lockedUntil)
	if aLocked != bLocked {
		return bLocked
	}
	return a.last.Before(b.last)
}
