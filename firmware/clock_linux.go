package firmware

import "golang.org/x/sys/unix"

// clockSynced asks the kernel whether an NTP client (systemd-timesyncd,
// chrony, ntpd) keeps the clock synchronised. It is systemd's own test, the
// "System clock synchronized" of timedatectl, so both always agree.
func clockSynced() bool {
	var tx unix.Timex
	if _, err := unix.Adjtimex(&tx); err != nil {
		return false
	}
	return timexSynced(int64(tx.Maxerror))
}

// maxErrorSynced is the kernel's NTP_PHASE_LIMIT in microseconds. The
// kernel starts the maximum error there; an NTP client lowers it at each
// update, and the kernel raises it by 500 µs every second after, back to the
// limit within hours of the last update.
const maxErrorSynced = 16_000_000

// timexSynced judges by the maximum error alone, as systemd does. The
// STA_UNSYNC status bit is not a reliable "no": chrony sets it while
// synchronised (without its rtcsync option) to keep the kernel off the RTC.
func timexSynced(maxErrorMicros int64) bool { return maxErrorMicros < maxErrorSynced }
