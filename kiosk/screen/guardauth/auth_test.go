package guardauth

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"golang.org/x/crypto/bcrypt"

	"kioskd/kiosk/screen/guardauth/passwordhash"
)

// bcryptUser makes a fast hash for login tests.
func bcryptUser(t *testing.T, name, password string) User {
	t.Helper()
	b, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return User{Name: name, Hash: string(b)}
}

func newAuth(t *testing.T, o Options) *Auth {
	t.Helper()
	if o.Users == nil {
		o.Users = []User{bcryptUser(t, "张伟", "right"), bcryptUser(t, "li", "other")}
	}
	a, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestLoginWrongNameAndWrongPasswordLookAlike(t *testing.T) {
	a := newAuth(t, Options{})
	ctx := context.Background()
	_, _, errName := a.Login(ctx, "nobody", "right", "10.0.0.2")
	_, _, errPass := a.Login(ctx, "张伟", "wrong", "10.0.0.2")
	if errName != ErrBadLogin || errPass != ErrBadLogin {
		t.Fatalf("unknown name: %v, wrong password: %v; want ErrBadLogin for both", errName, errPass)
	}
	token, s, err := a.Login(ctx, " 张伟 ", "right", "10.0.0.2")
	if err != nil {
		t.Fatalf("right password: %v", err)
	}
	if s.User != "张伟" || token == "" || s.CSRF == "" || token == s.CSRF {
		t.Errorf("session = %+v, token %q: want user 张伟 and distinct non-empty token and CSRF", s, token)
	}
	got, ok := a.Session(token, true)
	if !ok || got.User != "张伟" || !got.CheckCSRF(s.CSRF) || got.CheckCSRF("") || got.CheckCSRF(s.CSRF+"x") {
		t.Errorf("Session(token) = %+v, %v; CSRF check wrong", got, ok)
	}
	a.Logout(token)
	if _, ok := a.Session(token, false); ok {
		t.Error("session still live after Logout")
	}
}

func TestLockoutPerName(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := newAuth(t, Options{LockoutAfter: 3, Lockout: 10 * time.Minute})
		ctx := context.Background()
		for i := range 3 {
			if _, _, err := a.Login(ctx, "张伟", "wrong", fmt.Sprintf("10.0.0.%d", i)); err != ErrBadLogin {
				t.Fatalf("attempt %d: %v, want ErrBadLogin", i+1, err)
			}
		}
		_, _, err := a.Login(ctx, "张伟", "right", "10.0.0.9")
		var locked *LockedOutError
		if !errors.As(err, &locked) {
			t.Fatalf("right password after 3 wrong: %v, want *LockedOutError", err)
		}
		if _, _, err := a.Login(ctx, "li", "other", "10.0.0.9"); err != nil {
			t.Errorf("another name is locked out too: %v", err)
		}
		time.Sleep(10 * time.Minute)
		if _, _, err := a.Login(ctx, "张伟", "right", "10.0.0.9"); err != nil {
			t.Errorf("after the lockout: %v, want a login", err)
		}
	})
}

func TestLockoutPerAddress(t *testing.T) {
	a := newAuth(t, Options{LockoutAfter: 2})
	ctx := context.Background()
	for i := range 2 * addressFactor { // each name fails once: only the address adds up
		if _, _, err := a.Login(ctx, fmt.Sprintf("guess%d", i), "x", "10.0.0.66"); err != ErrBadLogin {
			t.Fatalf("attempt %d: %v, want ErrBadLogin", i+1, err)
		}
	}
	var locked *LockedOutError
	if _, _, err := a.Login(ctx, "张伟", "right", "10.0.0.66"); !errors.As(err, &locked) {
		t.Errorf("from the guessing address: %v, want *LockedOutError", err)
	}
	if _, _, err := a.Login(ctx, "张伟", "right", "10.0.0.67"); err != nil {
		t.Errorf("from another address: %v, want a login", err)
	}
}

// A burst of parallel guesses gets no more tries than the same guesses in a row.
func TestParallelGuessesBounded(t *testing.T) {
	a := newAuth(t, Options{LockoutAfter: 4})
	var wg sync.WaitGroup
	errs := make(chan error, 30)
	for i := range 30 {
		wg.Go(func() {
			_, _, err := a.Login(context.Background(), "张伟", "wrong", fmt.Sprintf("10.1.0.%d", i))
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	checked := 0
	for err := range errs {
		if err == ErrBadLogin {
			checked++
		}
	}
	if checked != 4 {
		t.Errorf("%d of 30 parallel guesses were checked, want 4 (lockout_after)", checked)
	}
}

func TestSessionExpiry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := newAuth(t, Options{IdleTimeout: 10 * time.Minute, MaxAge: time.Hour})
		token, _, err := a.Login(context.Background(), "li", "other", "10.0.0.2")
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(9 * time.Minute)
		if _, ok := a.Session(token, false); !ok {
			t.Fatal("session gone after 9 idle minutes, want it live")
		}
		time.Sleep(time.Minute) // a look without touch does not count as use
		if _, ok := a.Session(token, true); ok {
			t.Fatal("session live after 10 idle minutes, want it expired")
		}

		token, _, _ = a.Login(context.Background(), "li", "other", "10.0.0.2")
		for range 6 { // busy all along: the absolute limit still ends it
			time.Sleep(9*time.Minute + 59*time.Second)
			if _, ok := a.Session(token, true); !ok {
				t.Fatal("busy session ended before its hour")
			}
		}
		time.Sleep(time.Hour - 6*(9*time.Minute+59*time.Second))
		if _, ok := a.Session(token, true); ok {
			t.Error("session live after its hour, want it expired")
		}
	})
}

func TestSessionsBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := newAuth(t, Options{MaxSessions: 3})
		var tokens []string
		for range 5 {
			token, _, err := a.Login(context.Background(), "li", "other", "10.0.0.2")
			if err != nil {
				t.Fatal(err)
			}
			tokens = append(tokens, token)
			time.Sleep(time.Second)
		}
		if n := len(a.sessions.byHash); n != 3 {
			t.Errorf("%d sessions held, want 3", n)
		}
		for i, token := range tokens {
			_, ok := a.Session(token, false)
			if want := i >= 2; ok != want {
				t.Errorf("session %d live = %v, want %v (the least recently used go first)", i, ok, want)
			}
		}
	})
}

func TestThrottleBoundedMemory(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		th := newThrottle(2, time.Minute, 10)
		th.fail("victim", time.Now())
		th.fail("victim", time.Now())
		for i := range 1000 {
			time.Sleep(time.Millisecond)
			th.fail(fmt.Sprintf("junk%d", i), time.Now())
		}
		if n := len(th.entries); n > 10 {
			t.Errorf("%d keys remembered, want at most 10", n)
		}
		if th.lockedUntil("victim", time.Now()).IsZero() {
			t.Error("the locked-out key was forgotten to make room for junk")
		}
	})
}

// Checking an unknown name costs what checking a known one does: the dummy
// hash has the first user's kind (passwordhash's TestDummyIsLikeTheHash
// checks it has its cost too).
func TestDummyHashMatchesTheUsers(t *testing.T) {
	argon, _ := passwordhash.New("x-long-password")
	bcryptPW := bcryptUser(t, "a", "pw")
	tests := []struct {
		name  string
		users []User
		like  string // a hash of the kind the dummy must be
	}{
		{"bcrypt", []User{bcryptPW}, bcryptPW.Hash},
		{"argon2id", []User{{Name: "a", Hash: argon}}, argon},
		{"no users", nil, argon},
	}
	for _, tt := range tests {
		a, err := New(Options{Users: tt.users})
		if err != nil {
			t.Fatal(err)
		}
		like, _ := passwordhash.Parse(tt.like)
		if reflect.TypeOf(a.dummy) != reflect.TypeOf(like) {
			t.Errorf("%s: dummy hash %#v is not like the users'", tt.name, a.dummy)
		}
		if a.dummy.Verify("") || a.dummy.Verify("pw") || a.dummy.Verify("x-long-password") {
			t.Errorf("%s: the dummy hash opens with a password", tt.name)
		}
	}
}
