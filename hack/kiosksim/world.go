package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"

	"golang.org/x/sync/errgroup"

	"kioskd/firmware"
	"kioskd/firmware/config"
	"kioskd/hack/station/console"
)

// world is kioskd and, beside it, the station console that commands it.
type world struct {
	cfg         *config.Config
	stationAddr string // empty: no station
	log         *slog.Logger
}

// stationKey is the station's command signing key in the state directory;
// its public half (.pub) goes into the kiosk's commands.public_key_files.
const stationKey = "station.key"

// run makes the station's key, configures the kiosk to trust it, and runs
// the kiosk and the station until ctx is done.
func (w world) run(ctx context.Context) error {
	if err := os.MkdirAll(w.cfg.Kiosk.StateDir, 0o700); err != nil {
		return fmt.Errorf("state directory: %w", err)
	}
	keyPath, err := filepath.Abs(filepath.Join(w.cfg.Kiosk.StateDir, stationKey))
	if err != nil {
		return err
	}
	key, err := console.LoadOrCreateKey(keyPath, w.log)
	if err != nil {
		return err
	}
	w.cfg.Commands.PublicKeyFiles = []string{keyPath + ".pub"}
	if err := w.cfg.Validate(); err != nil {
		return err
	}
	g, ctx := errgroup.WithContext(ctx)
	if w.stationAddr != "" {
		ln, err := net.Listen("tcp", w.stationAddr)
		if err != nil {
			return fmt.Errorf("station console: %w (use -station)", err)
		}
		w.stationAddr = ln.Addr().String()
		scfg := console.Config{Broker: w.cfg.MQTT.Broker, TopicRoot: w.cfg.MQTT.TopicRoot,
			Key: key, CommandTTL: console.DefaultCommandTTL, DBPath: filepath.Join(w.cfg.Kiosk.StateDir, "station.db"),
			UploadDir: filepath.Join(w.cfg.Kiosk.StateDir, "uploads"), Log: w.log.With("part", "station")}
		g.Go(func() error { return console.Serve(ctx, scfg, ln) })
	}
	printWhere(w.cfg, w.stationAddr)
	g.Go(func() error { return firmware.RunConfig(ctx, w.cfg, w.log) })
	return g.Wait()
}
