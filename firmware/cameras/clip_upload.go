package cameras

import (
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"sync"
	"time"

	"kioskd/cloudlink/contract"
	"kioskd/kiosk"
	"kioskd/kiosk/journal"
)

// Clip uploads, on the platform's upload_clip command: the kiosk PUTs the
// clip's MP4 to the URL given (an object store's presigned URL) with
// Content-Length, Content-Type video/mp4 and Content-MD5 (the base64 MD5
// of the body, which S3, OSS and COS verify and refuse on mismatch), and
// reports clip.upload_progress (at most every progressEvery), then
// clip.uploaded with the file's SHA-256 or clip.upload_failed. A failed
// PUT is tried again with backoff, uploadAttempts times in all; a 4xx
// answer other than 408 or 429 (an expired or wrong URL) is final at once.

const (
	uploadAttempts   = 4
	uploadBackoff    = time.Second
	progressEvery    = 5 * time.Second
	uploadQueue      = 16
	uploadTimeout    = 10 * time.Minute // one attempt, whole body
	uploadStallAfter = time.Minute      // response headers after the body
)

type uploadJob struct {
	incident, clip, url string
}

type uploader struct {
	cs       *Set
	jobs     chan uploadJob
	client   *http.Client
	attempts int
	backoff  time.Duration
	progress time.Duration
}

func newUploader(cs *Set) *uploader {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.ResponseHeaderTimeout = uploadStallAfter
	return &uploader{
		cs: cs, jobs: make(chan uploadJob, uploadQueue),
		client:   &http.Client{Timeout: uploadTimeout, Transport: tr},
		attempts: uploadAttempts, backoff: uploadBackoff, progress: progressEvery,
	}
}

// UploadClip answers the upload_clip command, its args decoded and
// checked: it checks the URL and the clip and queues the upload, whose
// result comes as clip.uploaded or clip.upload_failed. A nil Set has no
// clips.
func (cs *Set) UploadClip(_ context.Context, cmdID string, a contract.UploadClipArgs) *contract.ReplyError {
	if cs == nil {
		return noClips()
	}
	return cs.uploads.accept(cmdID, a)
}

// accept checks an upload and queues it.
func (u *uploader) accept(cmdID string, a contract.UploadClipArgs) *contract.ReplyError {
	if p, err := url.Parse(a.URL); err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" {
		return &contract.ReplyError{Code: contract.ErrBadArgs, Message: "url must be an http or https URL"}
	}
	if _, rerr := u.cs.finishedClip(a.Incident, a.Clip); rerr != nil {
		return rerr
	}
	select {
	case u.jobs <- uploadJob{incident: a.Incident, clip: a.Clip, url: a.URL}:
		return nil
	default:
		u.cs.log.Warn("upload queue full", "command", cmdID, "clip", a.Clip)
		return &contract.ReplyError{Code: contract.ErrInternal, Message: "upload queue full; retry later"}
	}
}

// Run uploads the queued clips, one at a time, until ctx is done.
func (u *uploader) Run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case j := <-u.jobs:
			u.upload(ctx, j)
		}
	}
}

func (u *uploader) upload(ctx context.Context, j uploadJob) {
	var err error
	attempt := 1
	for ; ; attempt++ {
		var final bool
		var c journal.Clip
		if c, final, err = u.put(ctx, j); err == nil {
			u.done(ctx, j, c, attempt)
			return
		}
		u.cs.log.Warn("clip upload failed", "clip", j.clip, "attempt", attempt, "err", err)
		if final || attempt == u.attempts || !sleepCtx(ctx, u.delay(attempt)) {
			break
		}
	}
	if ctx.Err() != nil {
		return // shutting down: the platform sees no result and may ask again
	}
	c, _ := u.cs.journal.ClipByID(j.clip)
	u.cs.submit(ctx, kiosk.ClipEvent{Event: kiosk.EvClipUploadFailed, Incident: j.incident, Clip: clipRef(c),
		Detail: map[string]any{"url": redactURL(j.url), "reason": err.Error(), "attempts": attempt}})
}

// delay is the wait after failed attempt n (1-based): backoff·2ⁿ⁻¹, ±25 %.
func (u *uploader) delay(n int) time.Duration {
	d := u.backoff << (n - 1)
	return d*3/4 + rand.N(d/2+1)
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func (u *uploader) done(ctx context.Context, j uploadJob, c journal.Clip, attempts int) {
	if stored, err := u.cs.journal.MarkClipUploaded(j.clip, time.Now()); err == nil {
		c = stored
	} else {
		u.cs.log.Error("clip uploaded but not marked so", "clip", j.clip, "err", err)
	}
	u.cs.submit(ctx, kiosk.ClipEvent{Event: kiosk.EvClipUploaded, Incident: j.incident, Clip: clipRef(c),
		Detail: map[string]any{"url": redactURL(j.url), "attempts": attempts}})
}

// put makes one attempt; final says a retry cannot help.
func (u *uploader) put(ctx context.Context, j uploadJob) (journal.Clip, bool, error) {
	c, f, err := u.cs.openClip(j.clip)
	if err != nil {
		return c, true, fmt.Errorf("clip file: %w", err)
	}
	defer f.Close()
	md5sum, err := checkSum(f, c.SHA256)
	if err != nil {
		return c, true, err
	}
	body := &progressReader{r: f, total: c.Bytes, every: u.progress, report: func(sent int64) {
		u.cs.submit(ctx, kiosk.ClipEvent{Event: kiosk.EvClipUploadProgress, Incident: j.incident, Clip: clipRef(c),
			Detail: map[string]any{"bytes_sent": sent, "bytes_total": c.Bytes}})
	}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, j.url, body)
	if err != nil {
		return c, true, err
	}
	req.ContentLength = c.Bytes
	req.Header.Set("Content-Type", "video/mp4")
	req.Header.Set("Content-MD5", md5sum)
	resp, err := u.client.Do(req)
	if err != nil {
		return c, false, err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	switch code := resp.StatusCode; {
	case code >= 200 && code < 300:
		return c, false, nil
	case code >= 400 && code < 500 && code != http.StatusRequestTimeout && code != http.StatusTooManyRequests:
		return c, true, fmt.Errorf("object store answered %s", resp.Status)
	default:
		return c, false, fmt.Errorf("object store answered %s", resp.Status)
	}
}

// checkSum reads f through, checks its SHA-256 against the index, rewinds
// it and returns its base64 MD5 for Content-MD5.
func checkSum(f *os.File, wantSHA string) (string, error) {
	h, m := sha256.New(), md5.New()
	if _, err := io.Copy(io.MultiWriter(h, m), f); err != nil {
		return "", fmt.Errorf("read clip: %w", err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != wantSHA {
		return "", fmt.Errorf("clip file changed on disk: sha256 %s, indexed %s", got, wantSHA)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(m.Sum(nil)), nil
}

// redactURL drops a presigned URL's query (its signature).
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	u.RawQuery, u.User = "", nil
	return u.String()
}

// progressReader counts the bytes read and reports at most every every.
type progressReader struct {
	r      io.Reader
	total  int64
	every  time.Duration
	report func(sent int64)

	mu   sync.Mutex
	sent int64
	last time.Time
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.mu.Lock()
	p.sent += int64(n)
	due := time.Since(p.last) >= p.every && p.sent < p.total
	if due {
		p.last = time.Now()
	}
	sent := p.sent
	p.mu.Unlock()
	if due && n > 0 {
		p.report(sent)
	}
	return n, err
}
