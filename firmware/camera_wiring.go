package firmware

import "kioskd/cloudlink/contract"

// Cameras is the retained camera report the cloud link publishes
// (firmware/cameras).
func (b *bridge) Cameras() contract.CameraReport {
	return b.cameras.Report(b.journal.KioskID(), b.journal.BootEpoch())
}
