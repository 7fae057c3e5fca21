// Command kioskd is the controller daemon of a 共治警务站 post.
//
//	kioskd -config /etc/kioskd/kioskd.toml   run
//	kioskd check-config FILE                 check a config and exit
//	kioskd version                           print the version
//	kioskd hash-password                     read a guard's password, print its hash for the config
//	kioskd camera -camera ID -settings JSON  one camera's child process (kioskd starts it)
//	kioskd launch -config FILE               run the current A/B slot's binary (systemd's ExecStart; see firmware/update)
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"kioskd/firmware"
	"kioskd/firmware/cameraproc"
	"kioskd/firmware/config"
	"kioskd/firmware/testhooks"
	"kioskd/firmware/update"
	"kioskd/firmware/upkeep"
)

func main() {
	err := run(os.Args[1:])
	if errors.Is(err, upkeep.ErrRestart) { // into another binary: systemd starts it again
		fmt.Fprintln(os.Stderr, "kioskd:", err)
		os.Exit(update.ExitRestart)
	}
	if err != nil {
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
		case "hash-password":
			return hashPassword(os.Stdin, os.Stdout, os.Stderr)
		case "camera":
			return runCamera(args[1:])
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
	launching := len(args) > 0 && args[0] == "launch"
	if launching {
		args = args[1:]
	}
	fs := flag.NewFlagSet("kioskd", flag.ContinueOnError)
	path := fs.String("config", "/etc/kioskd/kioskd.toml", "config file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if launching {
		return launch(ctx, *path, log)
	}
	cfg, err := config.Load(*path)
	if err != nil {
		return err
	}
	if err := testhooks.CrashAtStart(); err != nil { // never in a release build
		return err
	}
	return firmware.RunConfig(ctx, cfg, log)
}

// runCamera is the camera child: stdout carries the protocol, so the log
// goes to stderr, which kioskd copies into its own log.
func runCamera(args []string) error {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return cameraproc.Main(ctx, args, os.Stdin, os.Stdout, log)
}
