package cloudlink

import (
	"bytes"
	"context"
	"encoding/json"

	"kioskd/cloudlink/contract"
)

// CameraReporter is implemented by a Kiosk with cameras: its report is
// published, retained, on the cameras topic at every connect and whenever
// it changes (checked at every Notify).
type CameraReporter interface {
	Cameras() contract.CameraReport
}

// publishCameras publishes the camera report when it differs from the last
// one published in this session (always when force is set).
func (s *session) publishCameras(ctx context.Context, force bool) error {
	cr, ok := s.l.kiosk.(CameraReporter)
	if !ok {
		return nil
	}
	b, err := json.Marshal(cr.Cameras())
	if err != nil {
		s.l.log.Error("cloudlink: cannot encode camera report", "err", err)
		return nil // a kiosk bug; the link stays up for events
	}
	if !force && bytes.Equal(b, s.lastCameras) {
		return nil
	}
	if err := s.wait(ctx, s.client.Publish(s.cfg.Topics.Cameras(), 1, true, b), "publish cameras"); err != nil {
		return err
	}
	s.lastCameras = b
	return nil
}
