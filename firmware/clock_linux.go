package firmware

import "golang.org/x/sys/unix"

// clockSynced asks the kernel whether NTP (or chrony, or systemd-timesyncd)
// has the clock synchronised.
func clockSynced() bool {
	var tx unix.Timex
	state, err := unix.Adjtimex(&tx)
	return err == nil && state != unix.TIME_ERROR && tx.Status&unix.STA_UNSYNC == 0
}
