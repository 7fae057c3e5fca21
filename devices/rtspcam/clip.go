package rtspcam

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"kioskd/devices"
	"kioskd/devices/clipfile"
)

// Why a clip ended before its planned end (ClipReport.Cut).
const (
	cutCameraLost = "camera lost"
	cutCodec      = "codec change"
	cutBFrames    = "camera sends B-frames"
	cutCap        = "cap"
	cutFinish     = "finish"
	cutShutdown   = "shutdown"
	cutNoVideo    = "no video"
)

// clip is one MP4 being written, fragmented (devices/clipfile) so that
// what was written survives a kill of this process or of kioskd. It waits
// for video if the ring had none, starts on a keyframe, takes every frame
// up to end and is then finished: the temp file gets its last frames, is
// synced and renamed to its path. A temp file left by a kill is finished
// by kioskd at its next start.
type clip struct {
	order  devices.ClipOrder
	press  time.Time // monotonic, in this process's clock
	end    time.Time // planned end; extend moves it, never past limit
	limit  time.Time // press + cap
	capped bool      // an extend was clamped to the cap

	params      *params
	tmp         string
	file        *clipfile.Writer
	first, last *frame
}

// newClip plans a clip for an order received at now. It returns the
// time its first frame should come from (press − pre-roll): the caller
// writes the ring's frames since then, then the live ones.
func newClip(o devices.ClipOrder, now time.Time) (*clip, time.Time) {
	preRoll, postRoll, capDur := o.Window()
	press := now.Add(-time.Duration(o.AgeMs) * time.Millisecond)
	c := &clip{order: o, press: press, end: press.Add(postRoll), limit: press.Add(capDur)}
	return c, press.Add(-preRoll)
}

// extend pushes the planned end later by d, never past the cap.
func (c *clip) extend(d time.Duration) {
	c.end = c.end.Add(d)
	if c.end.After(c.limit) {
		c.end, c.capped = c.limit, true
	}
}

// write adds a frame. done says the clip is complete and the frame was not
// taken: it reached its planned end (cut "") or the camera changed its
// codec (cut cutCodec). After an error the clip must be finished too.
func (c *clip) write(f *frame) (done bool, cut string, err error) {
	if f.at.After(c.end) {
		return true, "", nil
	}
	if c.file == nil {
		if !f.key {
			return false, "", nil
		}
		if err := c.open(f.params); err != nil {
			return false, "", err
		}
		c.first = f
	}
	if f.params != c.params {
		return true, cutCodec, nil
	}
	if err := c.file.Write(f.data, f.key, f.pts); err != nil {
		if errors.Is(err, clipfile.ErrTimeBackwards) {
			return true, cutBFrames, nil
		}
		return false, "", fmt.Errorf("clip %s: write frame: %w", c.order.ID, err)
	}
	c.last = f
	return false, "", nil
}

func (c *clip) open(p *params) error {
	if err := os.MkdirAll(filepath.Dir(c.order.Path), 0o750); err != nil {
		return fmt.Errorf("clip %s: %w", c.order.ID, err)
	}
	c.tmp = c.order.Path + ".part"
	w, err := clipfile.Create(c.tmp, clipfile.Codec{H265: p.codec == codecH265, VPS: p.vps, SPS: p.sps, PPS: p.pps})
	if err != nil {
		return fmt.Errorf("clip %s: %w", c.order.ID, err)
	}
	c.file, c.params = w, p
	return nil
}

// sync puts what the clip holds on disk: after its pre-roll, and every
// second from the tick, so that a stalled camera leaves nothing waiting.
func (c *clip) sync() error {
	if c.file == nil {
		return nil
	}
	if err := c.file.Sync(); err != nil {
		return fmt.Errorf("clip %s: %w", c.order.ID, err)
	}
	return nil
}

// recording is the report sent when the clip is ordered, once the
// pre-roll is written: with its start when the ring had video.
func (c *clip) recording() devices.ClipReport {
	rep := devices.ClipReport{Type: devices.MessageClip, ID: c.order.ID, State: devices.ClipRecording}
	if c.first != nil {
		rep.Start = c.first.at
		rep.KeyframeBeforePressMs = c.press.Sub(c.first.at).Milliseconds()
	}
	return rep
}

// finish ends the clip: cut is why it ended early ("" if it ran to its
// planned end). It always returns a final report, ready or failed, and
// leaves no temp file behind.
func (c *clip) finish(cut string, werr error) devices.ClipReport {
	rep := devices.ClipReport{Type: devices.MessageClip, ID: c.order.ID, State: devices.ClipFailed, Cut: cut}
	if cut == "" && c.capped {
		rep.Cut = cutCap
	}
	err := werr
	if c.file != nil {
		err = errors.Join(err, c.close())
	}
	if err == nil && c.last == nil {
		err = errors.New("no video from the camera for this clip")
	}
	if err == nil {
		rep.SHA256, rep.Bytes, err = hashFile(c.order.Path)
	}
	if err != nil {
		rep.Error = err.Error()
		if c.tmp != "" {
			os.Remove(c.tmp)
		}
		return rep
	}
	rep.State = devices.ClipReady
	rep.Start, rep.End = c.first.at, c.last.at
	rep.DurationMs = (c.last.pts - c.first.pts).Milliseconds()
	rep.KeyframeBeforePressMs = c.press.Sub(c.first.at).Milliseconds()
	return rep
}

// close writes the last frames, syncs, closes and renames the temp file.
func (c *clip) close() error {
	err := c.file.Close()
	if err == nil && c.last != nil {
		err = clipfile.Rename(c.tmp, c.order.Path)
	}
	if err != nil {
		return fmt.Errorf("clip %s: finish: %w", c.order.ID, err)
	}
	return nil
}

func hashFile(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, fmt.Errorf("hash clip: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, fmt.Errorf("hash clip: %w", err)
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}
