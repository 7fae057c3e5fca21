package main

import (
	"bufio"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// diskSample is the block device's counters from /proc/diskstats: writes and
// cache flushes completed (each fdatasync that commits ends in a flush) and
// the milliseconds spent on them. The device is shared with everything else
// on the machine, so these are upper bounds for the fleet.
type diskSample struct {
	Device                          string
	Writes, WriteMs, Flush, FlushMs uint64
}

// sampleDisk reads the counters of the device holding dir; ok is false when
// it cannot be found (tmpfs, overlay without a block device, not Linux).
func sampleDisk(dir string) (diskSample, bool) {
	var st unix.Stat_t
	if err := unix.Stat(dir, &st); err != nil {
		return diskSample{}, false
	}
	major, minor := uint64(unix.Major(st.Dev)), uint64(unix.Minor(st.Dev))
	f, err := os.Open("/proc/diskstats")
	if err != nil {
		return diskSample{}, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fld := strings.Fields(sc.Text())
		if len(fld) < 20 || fld[0] != strconv.FormatUint(major, 10) || fld[1] != strconv.FormatUint(minor, 10) {
			continue
		}
		n := func(i int) uint64 { v, _ := strconv.ParseUint(fld[i], 10, 64); return v }
		// Field k (1-based, after major, minor, name) is fld[2+k]: 5 writes
		// completed, 8 ms writing, 16 flushes completed, 17 ms flushing.
		return diskSample{Device: fld[2], Writes: n(7), WriteMs: n(10), Flush: n(18), FlushMs: n(19)}, true
	}
	return diskSample{}, false
}

func (a diskSample) minus(b diskSample) diskSample {
	return diskSample{Device: a.Device, Writes: a.Writes - b.Writes, WriteMs: a.WriteMs - b.WriteMs,
		Flush: a.Flush - b.Flush, FlushMs: a.FlushMs - b.FlushMs}
}
