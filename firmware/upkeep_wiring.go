package firmware

import (
	"fmt"
	"os"

	"kioskd/cloudlink/contract"
	"kioskd/devices"
	"kioskd/firmware/config"
	"kioskd/firmware/upkeep"
	"kioskd/kiosk"
	"kioskd/kiosk/journal"
)

// newUpkeep reads the release keys and builds the upkeep (self-tests and
// updates; see firmware/upkeep). cameras is every camera's status now.
func (d *Daemon) newUpkeep(j *journal.Journal, ctrl *kiosk.Controller, clock *kiosk.Clock, cameras func() []contract.CameraStatus,
	alarmPath func() error, online func() bool) (*upkeep.Upkeep, error) {
	keys, err := loadCommandKeys(config.Commands{PublicKeyFiles: d.cfg.Update.PublicKeyFiles})
	if err != nil {
		return nil, fmt.Errorf("update.%w", err)
	}
	return upkeep.New(upkeep.Config{
		Version: Version, Slot: os.Getenv(upkeep.EnvSlot), StateDir: d.cfg.Kiosk.StateDir,
		SelfTest: d.cfg.SelfTest, Update: d.cfg.Update, ReleaseKeys: keys, Reserve: d.cfg.Journal.Reserve.Bytes,
		Controller: ctrl, Clock: clock, Journal: j, Lamps: d.lamps(),
		ShowState: func() { d.showPattern(kiosk.Pattern(ctrl.State())) },
		Cameras:   cameras, AlarmPath: alarmPath, Online: online, Log: d.log.With("part", "upkeep"),
	}), nil
}

// lamps are the indicators a self-test lights: the LEDs. Relays drive
// strobes and sounders, which a daily test must not set off.
func (d *Daemon) lamps() []devices.Indicator {
	var out []devices.Indicator
	for _, ind := range d.devices.Indicators {
		for _, c := range d.cfg.Indicators {
			if c.Name == ind.Name() && c.Kind == "led" {
				out = append(out, ind)
			}
		}
	}
	return out
}
