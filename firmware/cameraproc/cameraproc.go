// Package cameraproc is the camera child process, `kioskd camera`: one
// camera pulled by devices/rtspcam, talking to its parent kioskd over
// stdin and stdout (the protocol is in devices/camera.go). It lives apart
// from package firmware so that the daemon's own code never links the
// RTSP library it must survive (ARCHITECTURE.md, "Decisions, and why").
//
//	kioskd camera -camera ID -settings JSON    as kioskd starts it
//	kioskd camera -config FILE -camera ID      by hand, to try one camera
package cameraproc

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"

	"kioskd/devices/rtspcam"
	"kioskd/firmware/config"
)

// Main runs one camera until ctx is done or stdin ends.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout io.Writer, log *slog.Logger) error {
	fs := flag.NewFlagSet("kioskd camera", flag.ContinueOnError)
	path := fs.String("config", "", "config file, to run one camera by hand")
	id := fs.String("camera", "", "the camera's id")
	settings := fs.String("settings", "", "the camera's settings as JSON, as kioskd passes them")
	live := fs.String("live", "", "unix socket to serve the camera's live relay on")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cam, err := load(*path, *id, *settings)
	if err != nil {
		return err
	}
	rc := rtspcam.Config{Camera: cam.ID, URL: cam.URL, CredentialsFile: cam.CredentialsFile, PreRoll: cam.PreRoll.Duration}
	rc.LiveSocket = *live
	return rtspcam.Serve(ctx, rc, stdin, stdout, log.With("camera", cam.ID))
}

// load finds the camera's settings in -settings or in the config file.
func load(path, id, settings string) (config.Camera, error) {
	var cam config.Camera
	switch {
	case id == "":
		return cam, errors.New("usage: kioskd camera -camera ID (-settings JSON | -config FILE)")
	case settings != "":
		if err := json.Unmarshal([]byte(settings), &cam); err != nil {
			return cam, fmt.Errorf("camera %s: settings: %w", id, err)
		}
		if cam.ID != id {
			return cam, fmt.Errorf("camera %s: settings are camera %q's", id, cam.ID)
		}
		return cam, nil
	case path != "":
		cfg, err := config.Load(path)
		if err != nil {
			return cam, err
		}
		for _, c := range cfg.Cameras {
			if c.ID == id {
				return c, nil
			}
		}
		return cam, fmt.Errorf("camera %s: not in %s", id, path)
	}
	return cam, errors.New("usage: kioskd camera -camera ID (-settings JSON | -config FILE)")
}
