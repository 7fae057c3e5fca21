package main

import (
	"bufio"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
)

// memSample is the process's memory and descriptors at one moment, and the
// broker's. Heap is the live Go heap after a forced GC (HeapAlloc); RSS
// figures come from /proc/PID/status, RssFile being mostly bbolt's mmap.
type memSample struct {
	Heap, Stacks          uint64
	RSS, RSSAnon, RSSFile uint64
	Goroutines, FDs       int
	BrokerRSS, BrokerFDs  uint64
}

func sampleMemory(brokerPID int) memSample {
	runtime.GC()
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	st := procStatus("self")
	s := memSample{
		Heap: ms.HeapAlloc, Stacks: ms.StackInuse,
		RSS: st["VmRSS"], RSSAnon: st["RssAnon"], RSSFile: st["RssFile"],
		Goroutines: runtime.NumGoroutine(), FDs: countFDs("self"),
	}
	if brokerPID > 0 {
		pid := strconv.Itoa(brokerPID)
		s.BrokerRSS, s.BrokerFDs = procStatus(pid)["VmRSS"], uint64(countFDs(pid))
	}
	return s
}

// procStatus reads the kB fields of /proc/PID/status, in bytes.
func procStatus(pid string) map[string]uint64 {
	out := map[string]uint64{}
	f, err := os.Open("/proc/" + pid + "/status")
	if err != nil {
		return out
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		key, rest, ok := strings.Cut(sc.Text(), ":")
		fields := strings.Fields(rest)
		if !ok || len(fields) != 2 || fields[1] != "kB" {
			continue
		}
		if n, err := strconv.ParseUint(fields[0], 10, 64); err == nil {
			out[key] = n << 10
		}
	}
	return out
}

func countFDs(pid string) int {
	entries, err := os.ReadDir("/proc/" + pid + "/fd")
	if err != nil {
		return -1
	}
	return len(entries)
}

// perKiosk is the growth from before to after, divided among n kiosks.
type perKiosk struct {
	Heap, Stacks, RSS, RSSAnon, RSSFile, BrokerRSS int64
	Goroutines, FDs, BrokerFDs                     float64
}

func growth(before, after memSample, n int) perKiosk {
	d := func(a, b uint64) int64 { return (int64(b) - int64(a)) / int64(n) }
	f := func(a, b uint64) float64 { return float64(int64(b)-int64(a)) / float64(n) }
	return perKiosk{
		Heap: d(before.Heap, after.Heap), Stacks: d(before.Stacks, after.Stacks),
		RSS: d(before.RSS, after.RSS), RSSAnon: d(before.RSSAnon, after.RSSAnon),
		RSSFile: d(before.RSSFile, after.RSSFile), BrokerRSS: d(before.BrokerRSS, after.BrokerRSS),
		Goroutines: f(uint64(before.Goroutines), uint64(after.Goroutines)),
		FDs:        f(uint64(before.FDs), uint64(after.FDs)), BrokerFDs: f(before.BrokerFDs, after.BrokerFDs),
	}
}
