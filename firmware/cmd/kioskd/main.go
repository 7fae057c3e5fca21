// Command kioskd is the controller daemon of a 共治警务站 post.
//
//	kioskd -config /etc/kioskd/kioskd.toml   run
//	kioskd check-config FILE                 check a config and exit
//	kioskd version                           print the version
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"kioskd/firmware"
	"kioskd/firmware/config"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "kioskd:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) > 0 {
		switch args[0] {
		case "version":
			fmt.Println("kioskd", firmware.Version)
			return nil
		case "check-config":
			if len(args) != 2 {
				return fmt.Errorf("usage: kioskd check-config FILE")
			}
			if _, err := config.Load(args[1]); err != nil {
				return err
			}
			fmt.Println(args[1] + ": ok")
			return nil
		}
	}
	fs := flag.NewFlagSet("kioskd", flag.ContinueOnError)
	path := fs.String("config", "/etc/kioskd/kioskd.toml", "config file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := config.Load(*path)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return firmware.RunConfig(ctx, cfg, log)
}
