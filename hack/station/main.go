// Command station is the reference station console: the police side of the
// kiosk contract, on a web page. Run several on one shared-subscription
// group to split the event load.
//
//	go run ./hack/station -broker tcp://127.0.0.1:1883 -http 127.0.0.1:8090 -key station.key -db station.db
//
// A missing -key file is created with a new key pair; the public half is
// written beside it (.pub) for the kiosks' commands.public_key_files (which
// also verify acks, unless the kiosks set acks.public_key_files).
//
//	go run ./hack/station sign-ack -key station.key -kiosk KIOSK EVENT_ID...
//
// prints a signed ack for publishing by hand (see signack.go).
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"kioskd/cloudlink/contract"
	"kioskd/hack/station/console"
)

func main() {
	run := run
	if len(os.Args) > 1 && os.Args[1] == "sign-ack" {
		run = func() error { return signAck(os.Args[2:]) }
	}
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "station:", err)
		os.Exit(1)
	}
}

func run() error {
	cfg := console.Config{}
	flag.StringVar(&cfg.Broker, "broker", "tcp://127.0.0.1:1883", "MQTT broker URL")
	flag.StringVar(&cfg.TopicRoot, "root", contract.DefaultRoot, "the kiosks' topic root template")
	flag.StringVar(&cfg.Group, "group", "station", "shared subscription group; instances in one group split the events")
	flag.StringVar(&cfg.ClientID, "client-id", "", "MQTT client id prefix (default station-HOST-PID)")
	flag.StringVar(&cfg.Username, "username", "", "MQTT username")
	passwordFile := flag.String("password-file", "", "file holding the MQTT password")
	flag.StringVar(&cfg.DBPath, "db", "station.db", "the station's bbolt file")
	flag.StringVar(&cfg.UploadDir, "uploads", "", "directory receiving clip uploads at /uploads/ (empty: DB path + .uploads)")
	flag.DurationVar(&cfg.GapGrace, "gap-grace", 10*time.Second, "how long a missing seq may be on its way before it is shown as a gap")
	flag.DurationVar(&cfg.CommandTTL, "cmd-ttl", console.DefaultCommandTTL, "commands expire this long after sending (0: never)")
	keyFile := flag.String("key", "station.key", "Ed25519 private key (PEM) that signs commands; created if missing")
	httpAddr := flag.String("http", "127.0.0.1:8090", "web console address")
	flag.Parse()

	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	var err error
	if cfg.Key, err = console.LoadOrCreateKey(*keyFile, log); err != nil {
		return err
	}
	if *passwordFile != "" {
		b, err := os.ReadFile(*passwordFile)
		if err != nil {
			return fmt.Errorf("password file: %w", err)
		}
		cfg.Password = strings.TrimSpace(string(b))
	}
	if cfg.UploadDir == "" {
		cfg.UploadDir = cfg.DBPath + ".uploads"
	}
	cfg.Log = log
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ln, err := net.Listen("tcp", *httpAddr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", *httpAddr, err)
	}
	fmt.Printf("station: console on http://%s  (broker %s, group %s)\n", ln.Addr(), cfg.Broker, cfg.Group)
	return console.Serve(ctx, cfg, ln)
}
