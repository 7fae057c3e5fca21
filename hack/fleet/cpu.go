package main

import (
	"os"
	"runtime/metrics"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// selfCPU is the user+system CPU time this process has used.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// procCPU is the user+system CPU time of process pid, from /proc/PID/stat
// (fields 14 and 15, in USER_HZ = 100 ticks a second); 0 if unknown.
func procCPU(pid int) time.Duration {
	if pid <= 0 {
		return 0
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	_, rest, ok := strings.Cut(string(b), ") ") // the command name may hold spaces
	fields := strings.Fields(rest)
	if !ok || len(fields) < 13 {
		return 0
	}
	utime, _ := strconv.ParseUint(fields[11], 10, 64) // field 14 counted from pid
	stime, _ := strconv.ParseUint(fields[12], 10, 64)
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

// schedHist is the Go runtime's histogram of how long goroutines waited
// to run once ready: the wait for a CPU inside this process.
type schedHist struct {
	counts  []uint64
	buckets []float64 // len(counts)+1 boundaries, in seconds
}

func sampleSched() schedHist {
	s := []metrics.Sample{{Name: "/sched/latencies:seconds"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindFloat64Histogram {
		return schedHist{}
	}
	h := s[0].Value.Float64Histogram()
	return schedHist{counts: slices.Clone(h.Counts), buckets: h.Buckets}
}

// since returns the waits between an earlier sample and this one.
func (h schedHist) since(old schedHist) schedHist {
	if len(old.counts) != len(h.counts) {
		return schedHist{}
	}
	d := schedHist{counts: make([]uint64, len(h.counts)), buckets: h.buckets}
	for i := range h.counts {
		d.counts[i] = h.counts[i] - old.counts[i]
	}
	return d
}

// quantile returns the upper bound of the bucket holding the q-th quantile.
func (h schedHist) quantile(q float64) time.Duration {
	var total uint64
	for _, c := range h.counts {
		total += c
	}
	if total == 0 {
		return 0
	}
	want := uint64(q * float64(total))
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen > want {
			return time.Duration(h.buckets[i+1] * float64(time.Second))
		}
	}
	return time.Duration(h.buckets[len(h.buckets)-1] * float64(time.Second))
}
