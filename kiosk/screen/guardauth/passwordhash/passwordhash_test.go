package passwordhash

import (
	"errors"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

func TestNew(t *testing.T) {
	hash, err := New("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(hash, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Errorf("hash = %q, want a PHC argon2id string with m=19456,t=2,p=1", hash)
	}
	h, err := Parse(hash)
	if err != nil {
		t.Fatalf("Parse(New()) = %v", err)
	}
	if !h.Verify("correct horse") || h.Verify("correct horse ") || h.Verify("") {
		t.Error("argon2id hash verifies a wrong password or refuses the right one")
	}
	other, _ := New("correct horse")
	if other == hash {
		t.Error("two hashes of one password are equal: the salt is not random")
	}
	if _, err := New(""); err == nil {
		t.Error("New(\"\") succeeded, want an error")
	}
}

func TestBcrypt(t *testing.T) {
	b, err := bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	h, err := Parse(string(b))
	if err != nil {
		t.Fatalf("Parse(bcrypt) = %v", err)
	}
	if !h.Verify("s3cret") || h.Verify("s3cre") {
		t.Error("bcrypt hash verifies a wrong password or refuses the right one")
	}
}

func TestParseHashRejects(t *testing.T) {
	salt, key := "c2FsdHNhbHRzYWx0", "a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5"
	for _, hash := range []string{
		"",
		"hunter2",
		"$argon2i$v=19$m=19456,t=2,p=1$" + salt + "$" + key,
		"$argon2id$v=18$m=19456,t=2,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=4000000,t=2,p=1$" + salt + "$" + key, // 4 GiB: out of bounds
		"$argon2id$v=19$m=19456,t=0,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=19456,t=2$" + salt + "$" + key,
		"$argon2id$v=19$m=19456,t=2,p=1$!!!$" + key,
		"$argon2id$v=19$m=19456,t=2,p=1$" + salt + "$c2hvcnQ",
		"$2b$04$tooshort",
	} {
		if err := Check(hash); !errors.Is(err, ErrBadHash) {
			t.Errorf("Check(%q) = %v, want ErrBadHash", hash, err)
		}
	}
}

// TestDummyIsLikeTheHash: the dummy has the kind and the cost of the hash
// it stands in for, and no password opens it.
func TestDummyIsLikeTheHash(t *testing.T) {
	argon, _ := New("x-long-password")
	b, _ := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
	tests := []struct {
		name  string
		like  string
		check func(Hash) bool
	}{
		{"bcrypt", string(b), func(h Hash) bool {
			b, ok := h.(bcryptHash)
			cost, _ := bcrypt.Cost([]byte(b))
			return ok && cost == bcrypt.MinCost
		}},
		{"argon2id", argon, func(h Hash) bool {
			a, ok := h.(*argon2idHash)
			return ok && a.memory == argonMemoryKiB && a.time == argonTime && len(a.key) == argonKeyLen
		}},
		{"none", "", func(h Hash) bool { _, ok := h.(*argon2idHash); return ok }},
	}
	for _, tt := range tests {
		like, _ := Parse(tt.like) // nil for "none"
		d, err := Dummy(like)
		if err != nil {
			t.Fatal(err)
		}
		if !tt.check(d) {
			t.Errorf("%s: dummy hash %#v is not like it", tt.name, d)
		}
		if d.Verify("") || d.Verify("pw") || d.Verify("x-long-password") {
			t.Errorf("%s: the dummy hash opens with a password", tt.name)
		}
	}
}

// BenchmarkVerifyArgon2id is what one login costs with hash-password's parameters.
func BenchmarkVerifyArgon2id(b *testing.B) {
	hash, _ := New("correct horse battery")
	h, _ := Parse(hash)
	for b.Loop() {
		h.Verify("correct horse battery")
	}
}
