// Command cambench measures the camera child processes: CPU share of one
// core and RSS per camera for 1, 4 and 8 cameras at 1080p ~4 Mbit/s, 2 s
// GOP, 10 s pre-roll, beside the raw pre-roll bytes each holds. The
// cameras are simulated in this process (hack/fakecam/camsim); each camera
// child is this binary re-run with -child, which runs rtspcam.Serve exactly
// as `kioskd camera` does.
//
//	go run ./hack/cambench                 # 1, 4, 8 cameras, 30 s each
//	go run ./hack/cambench -cams 8 -measure 60s -runs 5
//	go run ./hack/cambench -cams 1 -clip -runs 5   # each camera records a clip while measured
//
// Targets: under 1 % of a core per camera; RSS under 1.5 × pre-roll + 30 MB.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"kioskd/devices/rtspcam"
	"kioskd/hack/fakecam/camsim"
)

func main() {
	child := flag.String("child", "", "run as a camera child for this RTSP URL (internal)")
	preRoll := flag.Duration("preroll", 10*time.Second, "pre-roll each camera keeps")
	cams := flag.String("cams", "1,4,8", "camera counts to measure")
	warmup := flag.Duration("warmup", 15*time.Second, "time to fill the pre-roll before measuring")
	measure := flag.Duration("measure", 30*time.Second, "measuring time per camera count")
	runs := flag.Int("runs", 1, "runs per camera count; figures are medians over runs")
	bitrate := flag.String("bitrate", "4M", "encoder bitrate of the 1080p source")
	clip := flag.Bool("clip", false, "each camera records a clip (pre-roll included) for the whole measuring time")
	flag.Parse()
	if *child != "" {
		runChild(*child, *preRoll)
		return
	}
	if err := bench(*cams, *bitrate, *preRoll, *warmup, *measure, *runs, *clip); err != nil {
		log.Fatal(err)
	}
}

// runChild is one camera process: Serve on stdin and stdout.
func runChild(url string, preRoll time.Duration) {
	cfg := rtspcam.Config{Camera: "bench", URL: url, PreRoll: preRoll}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if err := rtspcam.Serve(context.Background(), cfg, os.Stdin, os.Stdout, logger); err != nil {
		log.Fatal(err)
	}
}

func bench(counts, bitrate string, preRoll, warmup, measure time.Duration, runs int, clip bool) error {
	dir, err := os.MkdirTemp("", "cambench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	clipDir := ""
	if clip {
		clipDir = dir
	}
	fmt.Printf("encoding a 1080p %s source (10 s, 25 fps, 2 s GOP) with ffmpeg...\n", bitrate)
	path, err := camsim.Encode(dir, "src1080.h264", "1920x1080", 10, "-c:v", "libx264", "-preset", "veryfast",
		"-bf", "0", "-g", "50", "-keyint_min", "50", "-sc_threshold", "0",
		"-b:v", bitrate, "-maxrate", bitrate, "-bufsize", bitrate)
	if err != nil {
		return err
	}
	src, err := camsim.LoadAnnexB(path, 25)
	if err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	fmt.Printf("%5s %9s %10s %11s %14s %14s %10s %s\n", "cams", "cpu%/cam", "cpu% all", "rss MB/cam", "preroll MB/cam", "rss target MB", "rss/target", "targets")
	for _, f := range strings.Split(counts, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return fmt.Errorf("bad camera count %q", f)
		}
		var results []result
		for range runs {
			r, err := measureRun(self, src, n, preRoll, warmup, measure, clipDir)
			if err != nil {
				return err
			}
			results = append(results, r)
		}
		printRow(n, medianResult(results))
	}
	return nil
}

func printRow(n int, r result) {
	const mb = 1 << 20
	target := 1.5*r.preroll + 30*mb
	cpuOK := "ok"
	if r.cpu >= 1 {
		cpuOK = "MISSED"
	}
	rssOK := "ok"
	if r.rss >= target {
		rssOK = "MISSED"
	}
	fmt.Printf("%5d %9.2f %10.2f %11.1f %14.1f %14.1f %10.2f cpu %s, rss %s\n",
		n, r.cpu, r.cpu*float64(n), r.rss/mb, r.preroll/mb, target/mb, r.rss/target, cpuOK, rssOK)
}
