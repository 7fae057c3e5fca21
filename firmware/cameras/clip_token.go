package cameras

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Expiring tokens for clip downloads and live-view references:
//
//	token = EXPIRY "." MAC
//
// EXPIRY is Unix seconds, MAC the first 16 bytes of HMAC-SHA256(secret,
// KIND "\n" NAME "\n" EXPIRY), base64url without padding. KIND is "clip"
// (NAME the clip id) or "live" (NAME the camera id). The secret is 32
// random bytes made once into the state directory (TokenKeyFile); the
// relay that will serve live views checks tokens the same way.

// TokenKeyFile is the token secret's name inside the state directory.
const TokenKeyFile = "clip-token.key"

type tokens struct {
	secret []byte
	ttl    time.Duration
}

// openTokens reads the secret, making it first if there is none.
func openTokens(stateDir string, ttl time.Duration) (*tokens, error) {
	path := filepath.Join(stateDir, TokenKeyFile)
	secret, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		secret = make([]byte, 32)
		rand.Read(secret)
		err = writeNewFile(path, secret)
		if errors.Is(err, fs.ErrExist) { // made by another start meanwhile
			secret, err = os.ReadFile(path)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("token secret: %w", err)
	}
	if len(secret) < 32 {
		return nil, fmt.Errorf("token secret %s: %d bytes, want 32; delete it to make a new one", path, len(secret))
	}
	return &tokens{secret: secret, ttl: ttl}, nil
}

func writeNewFile(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	return errors.Join(err, f.Close())
}

// Mint returns a token for kind and name, valid for the configured ttl.
func (t *tokens) Mint(kind, name string) string {
	token, _ := t.MintExpiring(kind, name)
	return token
}

// MintExpiring is Mint, also returning when the token expires.
func (t *tokens) MintExpiring(kind, name string) (string, time.Time) {
	exp := time.Now().Add(t.ttl).Unix()
	e := strconv.FormatInt(exp, 10)
	return e + "." + t.mac(kind, name, e), time.Unix(exp, 0).UTC()
}

func (t *tokens) mac(kind, name, exp string) string {
	m := hmac.New(sha256.New, t.secret)
	m.Write([]byte(kind + "\n" + name + "\n" + exp))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:16])
}

// Check reports whether token is valid now for kind and name.
func (t *tokens) Check(kind, name, token string) error {
	exp, mac, ok := strings.Cut(token, ".")
	secs, err := strconv.ParseInt(exp, 10, 64)
	switch {
	case !ok || err != nil:
		return errors.New("malformed token")
	case !hmac.Equal([]byte(mac), []byte(t.mac(kind, name, exp))):
		return errors.New("token does not match")
	case time.Now().Unix() >= secs:
		return errors.New("token expired")
	}
	return nil
}

// liveRef is a camera's live-view reference, served (later) by the relay.
func (cs *Set) liveRef(camera string) string {
	return "rtsp://" + cs.relay + "/" + url.PathEscape(camera) + "?token=" + cs.tokens.Mint("live", camera)
}

// clipDownload is the download path of a clip with a fresh token.
func (cs *Set) clipDownload(id string) string {
	return clipRoute(id, cs.tokens.Mint("clip", id))
}

// clipRoute is the path of a clip on the clip routes (clip_http.go).
func clipRoute(id, token string) string {
	return "/api/clips/" + url.PathEscape(id) + "?token=" + token
}
