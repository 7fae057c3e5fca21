package cloudlink

import "context"

// heartbeatOnChange publishes the heartbeat at once when the kiosk's
// status (ok, degraded, unhealthy) differs from the one last published, so
// that the retained heartbeat does not say degraded for a whole period
// after a person acknowledged a journal recovery. It runs on notify, which
// comes with every journaled change; the period still covers the rest.
func (s *session) heartbeatOnChange(ctx context.Context) error {
	if s.l.kiosk.Heartbeat().Status == s.beatStatus {
		return nil
	}
	return s.publishHeartbeat(ctx)
}
