// Package guardauth keeps the door of the guard console: it checks
// passwords against argon2id or bcrypt hashes (passwordhash), holds the login sessions with
// their CSRF tokens, and throttles wrong guesses per user name and per client
// address, in bounded memory. It knows nothing of HTTP.
package guardauth

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"kioskd/kiosk/screen/guardauth/passwordhash"
)

// ErrBadLogin is the one answer to a wrong name or a wrong password: it
// never says which.
var ErrBadLogin = errors.New("wrong user name or password")

// LockedOutError refuses a login while a name or an address is locked out,
// whatever the password.
type LockedOutError struct{ Until time.Time }

func (e *LockedOutError) Error() string {
	return fmt.Sprintf("too many failed logins; locked out until %s", e.Until.Format(time.TimeOnly))
}

// User is one guard allowed in.
type User struct {
	Name string
	Hash string // argon2id (PHC string) or bcrypt
}

// Options configure the door. Zero values take the defaults in brackets.
type Options struct {
	Users        []User
	IdleTimeout  time.Duration // a session unused this long ends [30m]
	MaxAge       time.Duration // a session ends this long after login, used or not [12h]
	LockoutAfter int           // wrong passwords for one name before it is locked out [5]
	Lockout      time.Duration // how long a lockout lasts and failures are remembered [15m]
	MaxSessions  int           // sessions held at once; the least recently used goes first [64]
	MaxTracked   int           // names and addresses whose failures are remembered, each [1024]
}

// addressFactor: an address may fail this many times more often than a
// name before it is locked out, so that guards sharing the office PC do not
// lock each other out by a few typos.
const addressFactor = 3

// maxNameBytes bounds the user names kept by the throttle.
const maxNameBytes = 64

// Auth is the door. It is safe for concurrent use.
type Auth struct {
	users  map[string]passwordhash.Hash
	dummy  passwordhash.Hash // verified for unknown names, so they cost as much
	verify chan struct{}     // at most cap(verify) hashes computed at once

	mu       sync.Mutex
	sessions sessions
	byName   *throttle
	byAddr   *throttle
}

// New checks the users' hashes and builds the door. It does no I/O.
func New(o Options) (*Auth, error) {
	o = o.withDefaults()
	a := &Auth{
		users:    map[string]passwordhash.Hash{},
		verify:   make(chan struct{}, 2),
		sessions: sessions{idle: o.IdleTimeout, maxAge: o.MaxAge, max: o.MaxSessions, byHash: map[[32]byte]*Session{}},
		byName:   newThrottle(o.LockoutAfter, o.Lockout, o.MaxTracked),
		byAddr:   newThrottle(addressFactor*o.LockoutAfter, o.Lockout, o.MaxTracked),
	}
	for _, u := range o.Users {
		h, err := passwordhash.Parse(u.Hash)
		if err != nil {
			return nil, fmt.Errorf("user %q: %w", u.Name, err)
		}
		a.users[u.Name] = h
	}
	dummy, err := dummyFor(o.Users)
	if err != nil {
		return nil, err
	}
	a.dummy = dummy
	return a, nil
}

// dummyFor is a hash no password opens, of the same kind and cost as the
// first user's, so that checking an unknown name takes as long as a known one.
func dummyFor(users []User) (passwordhash.Hash, error) {
	var first passwordhash.Hash
	if len(users) > 0 {
		first, _ = passwordhash.Parse(users[0].Hash) // checked by New already
	}
	return passwordhash.Dummy(first)
}

func (o Options) withDefaults() Options {
	def := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&o.IdleTimeout, 30*time.Minute)
	def(&o.MaxAge, 12*time.Hour)
	def(&o.Lockout, 15*time.Minute)
	if o.LockoutAfter <= 0 {
		o.LockoutAfter = 5
	}
	if o.MaxSessions <= 0 {
		o.MaxSessions = 64
	}
	if o.MaxTracked <= 0 {
		o.MaxTracked = 1024
	}
	return o
}

// Login checks a name and password from a client address and opens a
// session. A wrong name or password is ErrBadLogin; a locked-out name or
// address is a *LockedOutError, checked before the password. Each attempt
// is counted before its hash is computed, so a burst of parallel guesses
// gets no more tries than a sequence of them.
func (a *Auth) Login(ctx context.Context, name, password, addr string) (token string, s Session, err error) {
	name = strings.TrimSpace(name)
	key := nameKey(name)
	if err := a.begin(key, addr); err != nil {
		return "", Session{}, err
	}
	ok, err := a.check(ctx, name, password)
	a.mu.Lock()
	defer a.mu.Unlock()
	if err != nil { // not an answer: take the attempt back
		a.byName.forgive(key)
		a.byAddr.forgive(addr)
		return "", Session{}, err
	}
	if !ok {
		return "", Session{}, ErrBadLogin
	}
	a.byName.reset(key)
	a.byAddr.forgive(addr)
	token, s = a.sessions.create(name, time.Now())
	return token, s, nil
}

// begin refuses a locked-out name or address, else counts the attempt as failed.
func (a *Auth) begin(key, addr string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := time.Now()
	until := a.byName.lockedUntil(key, now)
	if u := a.byAddr.lockedUntil(addr, now); u.After(until) {
		until = u
	}
	if !until.IsZero() {
		return &LockedOutError{Until: until}
	}
	a.byName.fail(key, now)
	a.byAddr.fail(addr, now)
	return nil
}

// check computes the hash, waiting for a free slot: each argon2id costs
// memory, and a burst of logins must not take all the box has.
func (a *Auth) check(ctx context.Context, name, password string) (bool, error) {
	select {
	case a.verify <- struct{}{}:
	case <-ctx.Done():
		return false, fmt.Errorf("login: %w", ctx.Err())
	}
	defer func() { <-a.verify }()
	h, known := a.users[name]
	if !known || len(password) > passwordhash.MaxPasswordBytes {
		a.dummy.Verify(password[:min(len(password), passwordhash.MaxPasswordBytes)])
		return false, nil
	}
	return h.Verify(password), nil
}

func nameKey(name string) string {
	if len(name) > maxNameBytes {
		return name[:maxNameBytes]
	}
	return name
}

// Session returns the live session of token. touch marks it used, which
// restarts its idle timeout: a guard's own requests touch, background
// refreshes do not, so a console left open still times out.
func (a *Auth) Session(token string, touch bool) (Session, bool) {
	if token == "" {
		return Session{}, false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.sessions.find(token, time.Now(), touch)
}

// Logout ends the session of token.
func (a *Auth) Logout(token string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.sessions.remove(token)
}
