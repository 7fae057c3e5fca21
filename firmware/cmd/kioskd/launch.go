package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"syscall"

	"kioskd/firmware"
	"kioskd/firmware/config"
	"kioskd/firmware/update"
	"kioskd/firmware/upkeep"
)

// launch is `kioskd launch -config FILE`: the packaged binary deciding,
// before every start, which binary runs (see firmware/update's package
// doc), then running it: another slot by exec (the same PID, for systemd),
// or itself in-process. It reads only kiosk.state_dir before it chooses,
// so a config written for a newer version still starts that version.
func launch(ctx context.Context, cfgPath string, log *slog.Logger) error {
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("launch: %w", err)
	}
	stateDir, err := config.StateDirOf(cfgPath)
	if err != nil {
		return fmt.Errorf("launch: %w", err)
	}
	slots := update.Slots{Dir: filepath.Join(stateDir, "slots")}
	for range 3 { // a slot that cannot be executed is rolled back, then the next choice runs
		slot, note, err := slots.Choose(firmware.Version)
		if err != nil {
			log.Error("launch: slots unusable; running the packaged binary", "err", err)
			slot = update.Packaged
		}
		if note != "" {
			log.Warn("launch: "+note, "slot", slot)
		}
		os.Setenv(upkeep.EnvSlot, slot)
		if slot == update.Packaged {
			cfg, err := config.Load(cfgPath)
			if err != nil {
				return err
			}
			return firmware.RunConfig(ctx, cfg, log)
		}
		bin := slots.Binary(slot, self)
		log.Info("launch: starting slot", "slot", slot, "binary", bin)
		err = syscall.Exec(bin, []string{bin, "-config", cfgPath}, os.Environ())
		log.Error("launch: cannot start the slot's binary; rolling it back", "slot", slot, "err", err)
		if _, err := slots.NotRunnable(slot, err); err != nil {
			return fmt.Errorf("launch: roll back slot %s: %w", slot, err)
		}
	}
	return fmt.Errorf("launch: no runnable binary")
}
