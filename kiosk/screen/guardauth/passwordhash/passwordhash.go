// Package passwordhash is the format of a guard's password hash: argon2id in
// the PHC string format (what `kioskd hash-password` makes) or bcrypt. It is
// a leaf, so that firmware/config can check a [[guard.user]] password_hash
// and kiosk/screen/guardauth can verify a login without either importing the
// other (ARCHITECTURE.md, "Import rules").
package passwordhash

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// The argon2id parameters New uses: OWASP's first choice (19 MiB,
// two passes, one lane), which a small ARM box verifies in well under a
// second.
const (
	argonMemoryKiB = 19 * 1024
	argonTime      = 2
	argonThreads   = 1
	argonKeyLen    = 32
	argonSaltLen   = 16
)

// MaxPasswordBytes bounds what is hashed at a login; longer is refused.
const MaxPasswordBytes = 1024

// ErrBadHash is returned for a password hash that is neither a PHC argon2id
// string nor a bcrypt hash, or whose parameters are out of bounds.
var ErrBadHash = errors.New("not an argon2id ($argon2id$v=19$m=...,t=...,p=...$salt$key) or bcrypt ($2b$...) hash")

// New returns an argon2id hash of password in the PHC string format, for a
// [[guard.user]] password_hash.
func New(password string) (string, error) {
	if password == "" || len(password) > MaxPasswordBytes {
		return "", fmt.Errorf("hash password: must be 1 to %d bytes", MaxPasswordBytes)
	}
	salt := make([]byte, argonSaltLen)
	rand.Read(salt)
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemoryKiB, argonThreads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version,
		argonMemoryKiB, argonTime, argonThreads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// Check reports whether hash is a password hash this package can verify.
func Check(hash string) error {
	_, err := Parse(hash)
	return err
}

// Hash is a parsed hash that can verify a password.
type Hash interface {
	Verify(password string) bool
}

// Parse reads an argon2id or bcrypt hash; an error wraps ErrBadHash.
func Parse(s string) (Hash, error) {
	switch {
	case strings.HasPrefix(s, "$argon2id$"):
		return parseArgon2id(s)
	case strings.HasPrefix(s, "$2a$"), strings.HasPrefix(s, "$2b$"), strings.HasPrefix(s, "$2y$"):
		if _, err := bcrypt.Cost([]byte(s)); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrBadHash, err)
		}
		return bcryptHash(s), nil
	}
	return nil, ErrBadHash
}

type bcryptHash string

func (h bcryptHash) Verify(password string) bool {
	return bcrypt.CompareHashAndPassword([]byte(h), []byte(password)) == nil
}

type argon2idHash struct {
	memory  uint32 // KiB
	time    uint32
	threads uint8
	salt    []byte
	key     []byte
}

func parseArgon2id(s string) (*argon2idHash, error) {
	parts := strings.Split(s, "$") // "", "argon2id", "v=19", "m=..,t=..,p=..", salt, key
	if len(parts) != 6 || parts[2] != fmt.Sprintf("v=%d", argon2.Version) {
		return nil, fmt.Errorf("%w: want 6 $-separated parts and v=%d", ErrBadHash, argon2.Version)
	}
	var h argon2idHash
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &h.memory, &h.time, &h.threads); err != nil {
		return nil, fmt.Errorf("%w: parameters %q: %w", ErrBadHash, parts[3], err)
	}
	// Bounds keep a mistyped hash from costing the box all its memory at a login.
	if h.memory < 8*1024 || h.memory > 256*1024 || h.time < 1 || h.time > 16 || h.threads < 1 || h.threads > 16 {
		return nil, fmt.Errorf("%w: want m 8192..262144 KiB, t 1..16, p 1..16", ErrBadHash)
	}
	var err error
	if h.salt, err = base64.RawStdEncoding.DecodeString(parts[4]); err != nil || len(h.salt) < 8 {
		return nil, fmt.Errorf("%w: salt must be unpadded base64 of at least 8 bytes", ErrBadHash)
	}
	if h.key, err = base64.RawStdEncoding.DecodeString(parts[5]); err != nil || len(h.key) < 16 || len(h.key) > 64 {
		return nil, fmt.Errorf("%w: key must be unpadded base64 of 16 to 64 bytes", ErrBadHash)
	}
	return &h, nil
}

func (h *argon2idHash) Verify(password string) bool {
	key := argon2.IDKey([]byte(password), h.salt, h.time, h.memory, h.threads, uint32(len(h.key)))
	return subtle.ConstantTimeCompare(key, h.key) == 1
}

// Dummy is a hash no password opens, of the same kind and cost as like (an
// argon2id of New's parameters if like is nil): verifying a password
// against it takes as long as against like, so that a login with an
// unknown name costs what one with a known name does.
func Dummy(like Hash) (Hash, error) {
	switch h := like.(type) {
	case bcryptHash:
		cost, _ := bcrypt.Cost([]byte(h))
		b, err := bcrypt.GenerateFromPassword([]byte(rand.Text()), cost)
		return bcryptHash(b), err
	case *argon2idHash:
		d := *h
		d.salt, d.key = make([]byte, len(h.salt)), make([]byte, len(h.key))
		rand.Read(d.salt)
		rand.Read(d.key)
		return &d, nil
	}
	s, err := New(rand.Text())
	if err != nil {
		return nil, err
	}
	return Parse(s)
}
