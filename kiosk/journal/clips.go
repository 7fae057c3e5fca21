package journal

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
)

// The clip index: one entry per video clip a camera recorded for an
// incident, in its own bucket, keyed by clip id. The files are the
// caller's; the index says which exist, what they hold and whether they
// may be deleted. A clip goes
//
//	recording → ready or failed → uploaded → acked
//
// acked once the platform acknowledged the event that reported its end
// (ready or failed) or its upload. An upload after an ack moves it back to
// uploaded until that event is acked too, which is harmless: it only keeps
// the file longer. Besides its state, a clip records when the platform
// came to hold its bytes (UploadedAt, FetchedAt). Retention offers a clip
// for deletion (ClipsToDelete) only when it is acked, its incident is
// closed and, if it has a file, the platform holds it; only a disk short
// of space takes more (ClipsToEvict).

// Clip states.
const (
	ClipRecording = "recording"
	ClipReady     = "ready"
	ClipFailed    = "failed"
	ClipUploaded  = "uploaded"
	ClipAcked     = "acked"
)

// ErrNoClip is returned, wrapped, for a clip id the index does not hold.
var ErrNoClip = errors.New("journal: no such clip")

// Clip is one entry of the clip index.
type Clip struct {
	ID         string    `json:"id"`
	Incident   string    `json:"incident"`
	Camera     string    `json:"camera"`
	State      string    `json:"state"`
	File       string    `json:"file"`    // the caller's name for the file
	Ordered    time.Time `json:"ordered"` // wall time the clip was asked for: retention counts age from it
	Start      time.Time `json:"start,omitzero"`
	End        time.Time `json:"end,omitzero"`
	DurationMs int64     `json:"duration_ms,omitempty"`
	Bytes      int64     `json:"bytes,omitempty"`
	SHA256     string    `json:"sha256,omitempty"`
	Error      string    `json:"error,omitempty"` // why it failed
	UploadedAt time.Time `json:"uploaded_at,omitzero"`
	// Announced: its clip.recording event was journaled.
	Announced bool `json:"announced,omitempty"`
	// Partial: ready, but cut short by a kill or crash and finished after.
	Partial bool `json:"partial,omitempty"`
	// FetchedAt: when the platform had fetched every byte of the file.
	FetchedAt time.Time `json:"fetched_at,omitzero"`
	// BeforePressMs: how far before the press its first frame is, known
	// once the camera wrote the pre-roll (with Start).
	BeforePressMs int64 `json:"keyframe_before_press_ms,omitempty"`
}

// Held says the platform holds the clip's bytes: uploaded or fetched whole.
func (c Clip) Held() bool { return !c.UploadedAt.IsZero() || !c.FetchedAt.IsZero() }

// hasFile says the clip was finished with a file (a failed one has none).
func (c Clip) hasFile() bool { return c.SHA256 != "" }

// AddClip indexes a new clip in state recording. The id must be new.
func (j *Journal) AddClip(c Clip) error {
	if c.ID == "" || len(c.ID) > maxIDLen || c.Incident == "" {
		return fmt.Errorf("journal: add clip: %w: clip id or incident missing", ErrInvalid)
	}
	c.State = ClipRecording
	return j.update("add clip", func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketClips)
		if b.Get([]byte(c.ID)) != nil {
			return fmt.Errorf("%w: clip %s exists", ErrInvalid, c.ID)
		}
		return putClip(b, c)
	})
}

// FinishClip records the end of a recording clip as the camera reported
// it: c.State must be ClipReady or ClipFailed; the fields it reports
// replace the stored ones. A clip that is no longer recording is left as
// it is (a report may come twice) and returned unchanged.
func (j *Journal) FinishClip(c Clip) (Clip, error) {
	if c.State != ClipReady && c.State != ClipFailed {
		return Clip{}, fmt.Errorf("journal: finish clip: %w: state %q", ErrInvalid, c.State)
	}
	return j.editClip("finish clip", c.ID, func(cur *Clip) bool {
		if cur.State != ClipRecording {
			return false
		}
		cur.State, cur.Start, cur.End, cur.Error = c.State, c.Start, c.End, c.Error
		cur.DurationMs, cur.Bytes, cur.SHA256 = c.DurationMs, c.Bytes, c.SHA256
		cur.Partial = c.Partial
		return true
	})
}

// MarkClipUploaded records a finished upload of a ready clip.
func (j *Journal) MarkClipUploaded(id string, at time.Time) (Clip, error) {
	return j.editClip("mark clip uploaded", id, func(cur *Clip) bool {
		if cur.State == ClipRecording || cur.State == ClipFailed {
			return false
		}
		cur.State, cur.UploadedAt = ClipUploaded, at.UTC()
		return true
	})
}

// MarkClipAcked records that the platform acknowledged the clip's end or
// upload. A recording clip stays recording.
func (j *Journal) MarkClipAcked(id string) (Clip, error) {
	return j.editClip("mark clip acked", id, func(cur *Clip) bool {
		if cur.State == ClipRecording || cur.State == ClipAcked {
			return false
		}
		cur.State = ClipAcked
		return true
	})
}

// MarkClipAnnounced records that the clip's clip.recording event was
// journaled.
func (j *Journal) MarkClipAnnounced(id string) (Clip, error) {
	return j.editClip("mark clip announced", id, func(cur *Clip) bool {
		if cur.Announced {
			return false
		}
		cur.Announced = true
		return true
	})
}

// MarkClipStarted records where a recording clip starts: the wall time of
// its first frame and how far that is before the press, so that a clip cut
// short by a kill still has them.
func (j *Journal) MarkClipStarted(id string, start time.Time, beforePressMs int64) (Clip, error) {
	return j.editClip("mark clip started", id, func(cur *Clip) bool {
		if cur.State != ClipRecording {
			return false
		}
		cur.Start, cur.BeforePressMs = start, beforePressMs
		return true
	})
}

// MarkClipFetched records that the platform fetched every byte of a
// finished clip's file. The first fetch counts.
func (j *Journal) MarkClipFetched(id string, at time.Time) (Clip, error) {
	return j.editClip("mark clip fetched", id, func(cur *Clip) bool {
		if cur.State == ClipRecording || cur.State == ClipFailed || !cur.FetchedAt.IsZero() {
			return false
		}
		cur.FetchedAt = at.UTC()
		return true
	})
}

// editClip applies change to clip id in one transaction; change returns
// false to leave it unchanged. It returns the clip as stored after.
func (j *Journal) editClip(op, id string, change func(*Clip) bool) (Clip, error) {
	var c Clip
	err := j.update(op, func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketClips)
		var err error
		if c, err = getClip(b, id); err != nil {
			return err
		}
		if !change(&c) {
			return nil
		}
		return putClip(b, c)
	})
	return c, err
}

// ForgetClip deletes a clip's entry; the caller deletes its file first.
// An unknown id is not an error.
func (j *Journal) ForgetClip(id string) error {
	return j.update("forget clip", func(tx *bolt.Tx) error {
		return tx.Bucket(bucketClips).Delete([]byte(id))
	})
}

// ClipByID returns one clip; the error wraps ErrNoClip if there is none.
func (j *Journal) ClipByID(id string) (Clip, error) {
	var c Clip
	err := j.view("clip", func(tx *bolt.Tx) error {
		var err error
		c, err = getClip(tx.Bucket(bucketClips), id)
		return err
	})
	return c, err
}

// Clips returns every indexed clip, oldest order first.
func (j *Journal) Clips() ([]Clip, error) {
	var out []Clip
	err := j.view("clips", func(tx *bolt.Tx) error {
		return tx.Bucket(bucketClips).ForEach(func(k, v []byte) error {
			c, err := decodeClip(k, v)
			out = append(out, c)
			return err
		})
	})
	sortClips(out)
	return out, err
}

// ClipsToDelete returns the clips retention should delete, oldest order
// first: every deletable clip ordered before now−maxAge, then more of the
// oldest deletable ones until the clips left hold at most quota bytes and
// those chosen free at least needFree bytes. A clip is deletable only when
// it is acked, its incident is closed and the platform holds its file
// (Held; a failed clip has none): a clip of an open incident, or one the
// platform has not acknowledged or does not hold, is never offered,
// whatever the limits. So the result may leave the quota exceeded.
func (j *Journal) ClipsToDelete(now time.Time, maxAge time.Duration, quota, needFree int64) ([]Clip, error) {
	var all []Clip
	deletable := map[string]bool{}
	err := j.view("clips to delete", func(tx *bolt.Tx) error {
		open := tx.Bucket(bucketOpen)
		return tx.Bucket(bucketClips).ForEach(func(k, v []byte) error {
			c, err := decodeClip(k, v)
			if err != nil {
				return err
			}
			all = append(all, c)
			deletable[c.ID] = c.State == ClipAcked && open.Get([]byte(c.Incident)) == nil && (c.Held() || !c.hasFile())
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	sortClips(all)
	var total int64
	for _, c := range all {
		total += c.Bytes
	}
	over := max(total-quota, needFree)
	var out []Clip
	for _, c := range all {
		if !deletable[c.ID] || (over <= 0 && now.Sub(c.Ordered) < maxAge) {
			continue
		}
		out = append(out, c)
		over -= c.Bytes
	}
	return out, nil
}

// ClipsToEvict returns the clips to delete, when the disk is short of
// space, until needFree bytes are freed: finished clips of closed
// incidents, those the platform holds first, then the others, each group
// oldest order first. A clip still recording or of an open incident is
// never offered.
func (j *Journal) ClipsToEvict(needFree int64) ([]Clip, error) {
	var held, kept []Clip
	err := j.view("clips to evict", func(tx *bolt.Tx) error {
		open := tx.Bucket(bucketOpen)
		return tx.Bucket(bucketClips).ForEach(func(k, v []byte) error {
			c, err := decodeClip(k, v)
			switch {
			case err != nil:
				return err
			case c.State == ClipRecording || !c.hasFile() || open.Get([]byte(c.Incident)) != nil:
			case c.Held():
				held = append(held, c)
			default:
				kept = append(kept, c)
			}
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	sortClips(held)
	sortClips(kept)
	var out []Clip
	for _, c := range append(held, kept...) {
		if needFree <= 0 {
			break
		}
		out = append(out, c)
		needFree -= c.Bytes
	}
	return out, nil
}

func sortClips(cs []Clip) {
	slices.SortFunc(cs, func(a, b Clip) int {
		if c := a.Ordered.Compare(b.Ordered); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
}

func getClip(b *bolt.Bucket, id string) (Clip, error) {
	v := b.Get([]byte(id))
	if v == nil {
		return Clip{}, fmt.Errorf("clip %q: %w", id, ErrNoClip)
	}
	return decodeClip([]byte(id), v)
}

func decodeClip(k, v []byte) (Clip, error) {
	var c Clip
	if err := json.Unmarshal(v, &c); err != nil {
		return Clip{}, fmt.Errorf("clip %q: %w: %w", k, ErrCorrupt, err)
	}
	if c.ID != string(k) {
		return Clip{}, fmt.Errorf("clip %q: %w: holds clip %q", k, ErrCorrupt, c.ID)
	}
	return c, nil
}

func putClip(b *bolt.Bucket, c Clip) error {
	c.Ordered, c.Start, c.End = c.Ordered.UTC(), c.Start.UTC(), c.End.UTC()
	v, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("clip %s: %w", c.ID, err)
	}
	return b.Put([]byte(c.ID), v)
}
