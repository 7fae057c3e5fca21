package cloudlink

import (
	"bytes"
	"context"
	"encoding/json"
)

// publishCameras publishes the kiosk's camera report, retained, when it
// differs from the last one published in this session (always when force
// is set).
func (s *session) publishCameras(ctx context.Context, force bool) error {
	b, err := json.Marshal(s.l.kiosk.Cameras())
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
