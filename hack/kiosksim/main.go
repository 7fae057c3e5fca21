// Command kiosksim runs the whole kiosk world on one machine: kioskd with
// simulated buttons and indicators, an embedded MQTT broker, the kiosk's
// HTTP server and the station console (hack/station) playing the police
// platform, all on 127.0.0.1.
//
//	go run ./hack/kiosksim
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"kioskd/cloudlink/contract"
	"kioskd/firmware/config"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "camera" {
		runCameraChild(os.Args[2:])
		return
	}
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "kiosksim:", err)
		os.Exit(1)
	}
}

func run() error {
	brokerAddr := flag.String("broker", "127.0.0.1:1883", "embedded MQTT broker address (empty: use -mqtt instead)")
	mqttURL := flag.String("mqtt", "", "an external broker URL to use instead of the embedded one")
	httpAddr := flag.String("http", "127.0.0.1:8080", "kiosk HTTP address")
	stationAddr := flag.String("station", "127.0.0.1:8090", "station console address (empty: no station)")
	guardAddr := flag.String("guard", "127.0.0.1:8081", "guard console address (empty: no console)")
	clipsAddr := flag.String("clips", "127.0.0.1:8082", "clip server address, where the platform fetches clips (empty: none)")
	cameras := flag.Int("cameras", 2, "simulated RTSP cameras on 127.0.0.1 (0: none)")
	cameraControl := flag.String("camera-control", "127.0.0.1:8556", "where the simulated cameras' modes are switched (empty: nowhere)")
	stateDir := flag.String("state", filepath.Join(os.TempDir(), "kiosksim"), "state directory (the journal lives here)")
	flag.Parse()

	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	cfg := config.Sim(*stateDir)
	cfg.HTTP.Listen = *httpAddr
	cfg.Clips.FetchListen, cfg.Clips.FetchAddress = *clipsAddr, *clipsAddr
	cfg.MQTT.Broker = *mqttURL
	if *mqttURL == "" {
		broker, err := startBroker(*brokerAddr, log.With("part", "broker"))
		if err != nil {
			return err
		}
		defer broker.Close()
		cfg.MQTT.Broker = "tcp://" + *brokerAddr
	}
	if err := simGuard(cfg, *guardAddr); err != nil {
		return err
	}
	stopCameras, err := simCameras(cfg, *cameras, *cameraControl)
	if err != nil {
		return err
	}
	defer stopCameras()
	w := world{cfg: cfg, stationAddr: *stationAddr, log: log}
	return w.run(ctx)
}

func printWhere(cfg *config.Config, stationAddr string) {
	topics, _ := contract.NewTopics(cfg.MQTT.TopicRoot, cfg.Kiosk.ID) // checked by Validate
	fmt.Printf(`kiosksim: the kiosk world on this machine
  kiosk id      %s
  MQTT broker   %s   (watch: mosquitto_sub -h 127.0.0.1 -t '#' -v)
  citizen screen http://%s/   (and GET /api/state, /api/cameras, /healthz)
  press         curl -X POST http://%s/api/sim/buttons/police/press [-d '{"hold_ms":3000}']
  buttons       police community lawyer market labour
`, cfg.Kiosk.ID, cfg.MQTT.Broker, cfg.HTTP.Listen, cfg.HTTP.Listen)
	if stationAddr != "" {
		fmt.Printf(`  station       http://%s   (the police console: alarms, accept, message, escalate, close)
`, stationAddr)
	} else {
		host, port := "127.0.0.1", "1883"
		if u, err := url.Parse(cfg.MQTT.Broker); err == nil && u.Port() != "" {
			host, port = u.Hostname(), u.Port()
		}
		fmt.Printf(`  ack (platform) mosquitto_pub -h %s -p %s -t %s -m "$(go run ./hack/station sign-ack -broker %s -key %s -kiosk %s EVENT_ID)"
`, host, port, topics.Acks(), cfg.MQTT.Broker, filepath.Join(cfg.Kiosk.StateDir, stationKey), cfg.Kiosk.ID)
	}
	fmt.Printf("  state dir     %s\nCtrl-C stops everything.\n", cfg.Kiosk.StateDir)
}
