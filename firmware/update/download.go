package update

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// MaxSize bounds an update's binary.
const MaxSize = 512 << 20

// Download fetches one artifact into a file, resuming after a dropped
// connection with an HTTP Range request.
type Download struct {
	URL      string
	Dest     string // the finished file; Dest+".part" while it grows
	Size     int64  // expected bytes, 1..MaxSize
	Client   *http.Client
	Attempts int           // connections tried, at least 1
	Backoff  time.Duration // before the second attempt; doubles, at most 30 s
	Log      *slog.Logger
}

// errPermanent marks an answer that another attempt will not change.
var errPermanent = errors.New("permanent")

// Run downloads until the file has Size bytes, or the attempts are spent,
// or ctx ends. Each attempt resumes where the part file ends.
func (d Download) Run(ctx context.Context) error {
	if d.Size <= 0 || d.Size > MaxSize {
		return fmt.Errorf("download: size %d out of range 1..%d", d.Size, int64(MaxSize))
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	part := d.Dest + ".part"
	wait := d.Backoff
	var err error
	for attempt := 1; attempt <= max(d.Attempts, 1); attempt++ {
		if err = d.attempt(ctx, part); err == nil {
			return os.Rename(part, d.Dest)
		}
		if ctx.Err() != nil || errors.Is(err, errPermanent) {
			break
		}
		d.Log.Warn("update download interrupted; resuming", "url", d.URL, "attempt", attempt, "err", err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait = min(wait*2, 30*time.Second)
	}
	return fmt.Errorf("download %s: %w", d.URL, err)
}

// attempt makes one request for what the part file lacks and appends it.
func (d Download) attempt(ctx context.Context, part string) error {
	f, err := os.OpenFile(part, os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("%w: %w", errPermanent, err)
	}
	defer f.Close()
	have, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return err
	}
	if have >= d.Size {
		if have > d.Size {
			return fmt.Errorf("%w: %d bytes, more than the %d expected", errPermanent, have, d.Size)
		}
		return f.Sync()
	}
	resp, err := d.get(ctx, have)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusOK && have > 0: // no Range support: start again
		if err := f.Truncate(0); err != nil {
			return err
		}
		have = 0
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return err
		}
	case resp.StatusCode == http.StatusPartialContent:
		if start := rangeStart(resp.Header.Get("Content-Range")); start != have {
			return fmt.Errorf("%w: asked for bytes from %d, got Content-Range %q", errPermanent, have, resp.Header.Get("Content-Range"))
		}
	case resp.StatusCode != http.StatusOK:
		err := fmt.Errorf("HTTP %s", resp.Status)
		if resp.StatusCode >= 400 && resp.StatusCode < 500 {
			err = fmt.Errorf("%w: %w", errPermanent, err)
		}
		return err
	}
	n, err := io.Copy(f, io.LimitReader(resp.Body, d.Size-have+1))
	if err == nil && have+n != d.Size {
		err = fmt.Errorf("got %d of %d bytes", have+n, d.Size)
		if have+n > d.Size {
			err = fmt.Errorf("%w: the server sent more than %d bytes", errPermanent, d.Size)
		}
	}
	if serr := f.Sync(); err == nil {
		err = serr
	}
	return err
}

func (d Download) get(ctx context.Context, from int64) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, d.URL, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errPermanent, err)
	}
	if from > 0 {
		req.Header.Set("Range", "bytes="+strconv.FormatInt(from, 10)+"-")
	}
	return d.Client.Do(req)
}

// rangeStart reads the first byte of "bytes FIRST-LAST/TOTAL", or -1.
func rangeStart(cr string) int64 {
	rest, ok := strings.CutPrefix(cr, "bytes ")
	if !ok {
		return -1
	}
	first, _, _ := strings.Cut(rest, "-")
	n, err := strconv.ParseInt(first, 10, 64)
	if err != nil {
		return -1
	}
	return n
}

// FileSHA256 returns the hex sha256 and size of a file.
func FileSHA256(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}
