package guardauth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"time"
)

// Session is one guard's login.
type Session struct {
	User     string
	CSRF     string // the synchronizer token every change must carry
	Created  time.Time
	LastSeen time.Time
}

// CheckCSRF reports, in constant time, whether token is this session's.
func (s Session) CheckCSRF(token string) bool {
	return token != "" && subtle.ConstantTimeCompare([]byte(token), []byte(s.CSRF)) == 1
}

// sessions maps a hash of each session token to its session, so that the
// lookup's timing and a memory dump say nothing about a live token. It is
// not safe for concurrent use; Auth guards it.
type sessions struct {
	idle, maxAge time.Duration
	max          int
	byHash       map[[32]byte]*Session
}

func (ss *sessions) create(user string, now time.Time) (token string, s Session) {
	ss.sweep(now)
	for len(ss.byHash) >= ss.max {
		ss.evictLeastRecent()
	}
	token = rand.Text()
	p := &Session{User: user, CSRF: rand.Text(), Created: now, LastSeen: now}
	ss.byHash[sha256.Sum256([]byte(token))] = p
	return token, *p
}

// find returns the live session of token; touch marks it used now.
func (ss *sessions) find(token string, now time.Time, touch bool) (Session, bool) {
	key := sha256.Sum256([]byte(token))
	p := ss.byHash[key]
	if p == nil {
		return Session{}, false
	}
	if ss.expired(p, now) {
		delete(ss.byHash, key)
		return Session{}, false
	}
	if touch {
		p.LastSeen = now
	}
	return *p, true
}

func (ss *sessions) remove(token string) { delete(ss.byHash, sha256.Sum256([]byte(token))) }

func (ss *sessions) expired(p *Session, now time.Time) bool {
	return now.Sub(p.LastSeen) >= ss.idle || now.Sub(p.Created) >= ss.maxAge
}

func (ss *sessions) sweep(now time.Time) {
	for k, p := range ss.byHash {
		if ss.expired(p, now) {
			delete(ss.byHash, k)
		}
	}
}

func (ss *sessions) evictLeastRecent() {
	var oldest [32]byte
	var oldestP *Session
	for k, p := range ss.byHash {
		if oldestP == nil || p.LastSeen.Before(oldestP.LastSeen) {
			oldest, oldestP = k, p
		}
	}
	delete(ss.byHash, oldest)
}
