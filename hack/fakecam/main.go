// Command fakecam runs N simulated RTSP cameras on 127.0.0.1 that loop a
// small H.264 clip in real time, and prints their URLs. A tiny HTTP
// endpoint switches their modes:
//
//	go run ./hack/fakecam -n 2
//	curl -X POST localhost:8556/cameras/0/stall    # normal, stall, drop, slow, hostile
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"syscall"

	"kioskd/hack/fakecam/camsim"
)

func main() {
	n := flag.Int("n", 1, "number of cameras")
	port := flag.Int("port", 8560, "RTSP port of the first camera; the others follow (0: any free port)")
	control := flag.String("http", "127.0.0.1:8556", "control endpoint")
	clip := flag.String("clip", defaultClip(), "an Annex-B .h264 or .h265 clip to loop")
	fps := flag.Int("fps", 25, "frame rate of the clip")
	flag.Parse()
	if err := run(*n, *port, *control, *clip, *fps); err != nil {
		log.Fatal(err)
	}
}

func run(n, port int, control, clip string, fps int) error {
	src, err := camsim.LoadAnnexB(clip, fps)
	if err != nil {
		return err
	}
	var cams []*camsim.Camera
	for i := range n {
		addr := "127.0.0.1:0"
		if port > 0 {
			addr = fmt.Sprintf("127.0.0.1:%d", port+i)
		}
		c, err := camsim.Start(camsim.Options{Addr: addr, Source: src, RandomOrigin: true})
		if err != nil {
			return err
		}
		defer c.Close()
		cams = append(cams, c)
		fmt.Println(c.URL())
	}
	srv := &http.Server{Addr: control, Handler: camsim.Handler(cams)}
	go func() {
		if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Print(err)
		}
	}()
	fmt.Printf("control: http://%s/cameras\n", control)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	return srv.Close()
}

// defaultClip is the committed clip beside this file.
func defaultClip() string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "testdata/loop.h264"
	}
	return filepath.Join(filepath.Dir(file), "testdata", "loop.h264")
}
