package firmware

import (
	"context"
	"encoding/json"

	"kioskd/cloudlink/contract"
	"kioskd/firmware/config"
	"kioskd/kiosk"
	"kioskd/kiosk/journal"
)

// startCameras builds the camera set and hooks it to the controller; Run
// it with the rest. With no camera configured it still serves the clip
// routes and the upload command (for clips of earlier runs).
func (d *Daemon) startCameras(j *journal.Journal, ctrl *kiosk.Controller) (*cameraSet, error) {
	tok, err := openTokens(d.cfg.Kiosk.StateDir, d.cfg.Clips.TokenTTL.Duration)
	if err != nil {
		return nil, err
	}
	cs := newCameraSet(d.cfg, j, ctrl, tok, nil, d.log)
	cs.live = newLiveRelay(cs, d.cfg.Kiosk.StateDir, d.cfg.Relay.RelayListen(), d.log)
	cs.relay, cs.fetch = advertised(cs.relay), fetchBase(d.cfg.Clips, advertised(d.cfg.Clips.FetchAddress))
	ctrl.OnCommit(cs.onCommit)
	d.cams = cs
	return cs, nil
}

// runCameras is the camera set's goroutine in the daemon's group.
func (d *Daemon) runCameras(ctx context.Context) error {
	d.cams.Run(ctx)
	return nil
}

// cameraSettings is the -settings argument of `kioskd camera`: the
// camera's checked config as JSON (no secret: credentials stay in their file).
func cameraSettings(c config.Camera) string {
	b, _ := json.Marshal(c) // a struct of strings and durations cannot fail
	return string(b)
}

// cameraStatuses fills the heartbeat's cameras.
func (b *bridge) cameraStatuses() []contract.CameraStatus {
	if b.cameras == nil {
		return []contract.CameraStatus{}
	}
	return b.cameras.Statuses()
}

// Cameras is the retained camera report the cloud link publishes.
func (b *bridge) Cameras() contract.CameraReport {
	if b.cameras == nil {
		return contract.CameraReport{V: contract.SchemaVersion, Kiosk: b.journal.KioskID(), BootEpoch: b.journal.BootEpoch(), Cameras: []contract.CameraStatus{}}
	}
	return b.cameras.Report(b.journal.KioskID(), b.journal.BootEpoch())
}

// uploadClip answers the upload_clip command.
func (b *bridge) uploadClip(cmd contract.Command) *contract.ReplyError {
	if b.cameras == nil {
		return &contract.ReplyError{Code: contract.ErrNotFound, Message: "no clips on this kiosk"}
	}
	return b.cameras.uploads.Accept(cmd.Args)
}
