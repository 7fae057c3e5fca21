package rtspcam

import (
	"errors"
	"time"

	"kioskd/devices"
)

// order carries out one order from the parent.
func (s *server) order(o devices.ClipOrder) error {
	if err := o.Check(); err != nil {
		s.log.Warn("camera: bad order", "err", err)
		if o.Op == devices.OpClip && o.ID != "" {
			return s.send(devices.ClipReport{Type: devices.MessageClip, ID: o.ID, State: devices.ClipFailed, Error: err.Error()})
		}
		return nil
	}
	c := s.clips[o.ID]
	switch {
	case o.Op == devices.OpClip && c == nil:
		return s.startClip(o)
	case o.Op == devices.OpExtend && c != nil:
		c.extend(time.Duration(o.ByMs) * time.Millisecond)
	case o.Op == devices.OpFinish && c != nil:
		return s.finishClip(c, cutFinish, nil)
	default:
		s.log.Info("camera: order ignored (clip unknown or already ordered)", "op", o.Op, "clip", o.ID)
	}
	return nil
}

// startClip plans a clip and writes what the ring holds of it.
func (s *server) startClip(o devices.ClipOrder) error {
	c, from := newClip(o, time.Now())
	s.clips[o.ID] = c
	for _, f := range s.ring.since(from) {
		if done, err := s.feed(c, f); done || err != nil {
			return err
		}
	}
	if err := s.syncClip(c); err != nil { // the pre-roll is on disk before the press is a second old
		return err
	}
	if s.clips[o.ID] == nil {
		return nil // finished already
	}
	return s.send(c.recording())
}

// syncClip puts a clip's frames on disk; a clip that cannot be written
// is finished, failed.
func (s *server) syncClip(c *clip) error {
	if err := c.sync(); err != nil {
		return s.finishClip(c, "", err)
	}
	return nil
}

// feed writes a frame to a clip and finishes the clip when it is complete.
func (s *server) feed(c *clip, f *frame) (done bool, err error) {
	done, cut, werr := c.write(f)
	if !done && werr == nil {
		return false, nil
	}
	return true, s.finishClip(c, cut, werr)
}

func (s *server) finishClip(c *clip, cut string, werr error) error {
	delete(s.clips, c.order.ID)
	rep := c.finish(cut, werr)
	if rep.State == devices.ClipFailed {
		s.log.Warn("camera: clip failed", "clip", rep.ID, "err", rep.Error)
	}
	return s.send(rep)
}

// finishAll finishes every clip, or with startedOnly those that have video
// (the others may still get it after a reconnect).
func (s *server) finishAll(cut string, startedOnly bool) error {
	var err error
	for _, c := range s.clips {
		if !startedOnly || c.file != nil {
			err = errors.Join(err, s.finishClip(c, cut, nil))
		}
	}
	return err
}

// event applies one ingest event.
func (s *server) event(e event) error {
	now := time.Now()
	switch e.kind {
	case evConnected:
		s.health.onConnected(now, e.codec)
		s.log.Info("camera: connected", "codec", e.codec.String())
	case evDisconnected:
		s.health.onDisconnected(e.err)
		s.logOnce("camera: disconnected", e.err)
		return s.finishAll(cutCameraLost, true)
	case evFrame:
		return s.frame(e.frame)
	case evFault:
		s.health.problem = e.err
		s.logOnce("camera: stream fault", e.err)
	case evConfigFault:
		s.health.fault = e.err
		s.logOnce("camera: configuration fault", e.err)
		if errors.Is(e.err, errBFrames) {
			s.ring.clear()
			return s.finishAll(cutBFrames, true)
		}
	}
	return nil
}

func (s *server) frame(f *frame) error {
	s.health.onFrame(f)
	s.ring.add(f)
	s.live.publish(f) // the live relay; never blocks
	for _, c := range s.clips {
		if _, err := s.feed(c, f); err != nil {
			return err
		}
	}
	return nil
}

// tick updates the rates, finishes clips whose camera stalled past their
// end and sends the periodic health report.
func (s *server) tick(now time.Time) error {
	s.health.tick(now)
	for _, c := range s.clips {
		if now.Sub(c.end) < clipGrace {
			if err := s.syncClip(c); err != nil {
				return err
			}
			continue
		}
		cut := ""
		if c.last == nil || c.end.Sub(c.last.at) > time.Second {
			cut = cutNoVideo
		}
		if err := s.finishClip(c, cut, nil); err != nil {
			return err
		}
	}
	return s.sendHealth(now, true)
}

func (s *server) logOnce(msg string, err error) {
	if err == nil || err.Error() == s.lastLog {
		return
	}
	s.lastLog = err.Error()
	s.log.Warn(msg, "err", err)
}
