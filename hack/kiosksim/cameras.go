package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"syscall"

	"kioskd/firmware/cameraproc"
	"kioskd/firmware/config"
	"kioskd/hack/fakecam/camsim"
)

// simCameraIDs name the simulated cameras, in the order -cameras starts them.
var simCameraIDs = []string{"door", "hall", "desk", "street"}

// runCameraChild is kioskd's `camera` subcommand: kioskd starts its camera
// children from its own executable, which in the simulation is kiosksim.
func runCameraChild(args []string) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := cameraproc.Main(ctx, args, os.Stdin, os.Stdout, log); err != nil {
		fmt.Fprintln(os.Stderr, "kiosksim camera:", err)
		os.Exit(1)
	}
}

// simCameras starts n simulated RTSP cameras looping the committed clip,
// adds them to cfg, and serves their mode switch on control. The returned
// stop closes them.
func simCameras(cfg *config.Config, n int, control string) (stop func(), err error) {
	if n > len(simCameraIDs) {
		return nil, fmt.Errorf("-cameras: at most %d", len(simCameraIDs))
	}
	if n <= 0 {
		return func() {}, nil
	}
	src, err := camsim.LoadAnnexB(loopClip(), 25)
	if err != nil {
		return nil, err
	}
	var cams []*camsim.Camera
	stop = func() {
		for _, c := range cams {
			c.Close()
		}
	}
	for _, id := range simCameraIDs[:n] {
		c, err := camsim.Start(camsim.Options{Source: src, RandomOrigin: true})
		if err != nil {
			stop()
			return nil, err
		}
		cams = append(cams, c)
		cfg.Cameras = append(cfg.Cameras, config.SimCamera(id, c.URL()))
		fmt.Printf("kiosksim: camera %-6s %s\n", id, c.URL())
	}
	if control != "" {
		go serveCameraControl(control, cams)
		fmt.Printf("kiosksim: camera modes  curl -X POST http://%s/cameras/0/stall   (normal, stall, drop, slow, hostile)\n", control)
	}
	return stop, nil
}

func serveCameraControl(addr string, cams []*camsim.Camera) {
	err := http.ListenAndServe(addr, camsim.Handler(cams))
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		slog.Error("camera control", "err", err)
	}
}

// loopClip is the clip committed beside hack/fakecam.
func loopClip() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "fakecam", "testdata", "loop.h264")
}
