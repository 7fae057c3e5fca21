package main

import (
	"fmt"
	"io"
	"slices"
	"time"
)

// percentile returns the nearest-rank p-th percentile (0 < p ≤ 100) of d,
// or 0 for none. It sorts d.
func percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	slices.Sort(d)
	i := int(float64(len(d))*p/100+0.999999) - 1
	return d[min(max(i, 0), len(d)-1)]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond)) }

func kib(b int64) string { return fmt.Sprintf("%.1fKiB", float64(b)/1024) }

func (r *result) print(w io.Writer, i, runs int) {
	t := r.Tally
	fmt.Fprintf(w, "run %d/%d: %d kiosks, load at start %s, at end %s\n", i, runs, r.Kiosks, r.Load, r.LoadEnd)
	fmt.Fprintf(w, "  startup     all online, start events acked in %.2fs\n", r.Startup.Seconds())
	fmt.Fprintf(w, "  alarms      %d pressed over %.1fs, %d journaled, %d press errors, LOST %d\n",
		r.Pressed, r.Storm.Seconds(), t.Alarms, r.PressErrors, t.Lost)
	fmt.Fprintf(w, "  latency     press→consumer p50 %s p99 %s max %s\n",
		ms(percentile(t.Total, 50)), ms(percentile(t.Total, 99)), ms(percentile(t.Total, 100)))
	if r.Restarted {
		fmt.Fprintf(w, "              pressed >1s before the kill: p50 %s p99 %s max %s\n",
			ms(percentile(t.Steady, 50)), ms(percentile(t.Steady, 99)), ms(percentile(t.Steady, 100)))
	}
	fmt.Fprintf(w, "              press→journaled p50 %s p99 %s; journaled→consumer p50 %s p99 %s\n",
		ms(percentile(t.Journal, 50)), ms(percentile(t.Journal, 99)), ms(percentile(t.Wire, 50)), ms(percentile(t.Wire, 99)))
	fmt.Fprintf(w, "  duplicates  %d of %d event messages (%d of them alarms)\n", t.Duplicates, t.Messages, t.AlarmDups)
	if r.Restarted {
		fmt.Fprintf(w, "  restart     kill -9, back after %.1fs with %d alarms outstanding; consumer subscribed %.2fs later, all kiosks online %.2fs later, backlog received %.2fs later\n",
			r.Outage.Seconds(), r.Backlog, r.ConsumerBack.Seconds(), r.Online.Seconds(), r.Recovered.Seconds())
		fmt.Fprintf(w, "              kiosks back online after p50 %.2fs p90 %.2fs max %.2fs (cloudlink's full-jitter backoff); %d before the consumer\n",
			percentile(r.Reconnects, 50).Seconds(), percentile(r.Reconnects, 90).Seconds(), percentile(r.Reconnects, 100).Seconds(), r.BeforeConsumer)
	}
	if r.DiskOK && r.Tally.Alarms > 0 {
		a := float64(r.Tally.Alarms)
		fmt.Fprintf(w, "  disk        %s during storm and drain: %d flushes (%.1f per alarm, %d ms), %d writes (%.1f per alarm, %d ms); shared with the machine\n",
			r.Disk.Device, r.Disk.Flush, float64(r.Disk.Flush)/a, r.Disk.FlushMs, r.Disk.Writes, float64(r.Disk.Writes)/a, r.Disk.WriteMs)
	}
	fmt.Fprintf(w, "  cpu         storm to drained (%.1fs): this process %.1fs (%.0f%% of a core), mosquitto %.1fs (%.0f%%)\n",
		r.Busy.Seconds(), r.CPU.Seconds(), 100*r.CPU.Seconds()/r.Busy.Seconds(), r.BrokerCPU.Seconds(), 100*r.BrokerCPU.Seconds()/r.Busy.Seconds())
	fmt.Fprintf(w, "              goroutines ready but waiting for a CPU: p50 %s p99 %s p99.9 %s\n",
		ms(r.Sched.quantile(0.5)), ms(r.Sched.quantile(0.99)), ms(r.Sched.quantile(0.999)))
	fmt.Fprintf(w, "  drain       all received, outboxes empty %.2fs after the last press (%d outboxes not empty)\n",
		r.Drain.Seconds(), r.OutboxLeft)
	for _, d := range r.Undrained {
		fmt.Fprintf(w, "              %s\n", d)
	}
	p := r.PerKiosk
	fmt.Fprintf(w, "  per kiosk   Go heap %s, stacks %s, RSS %s (anon %s, file %s), broker RSS %s; goroutines %.1f, fds %.1f, broker fds %.1f\n",
		kib(p.Heap), kib(p.Stacks), kib(p.RSS), kib(p.RSSAnon), kib(p.RSSFile), kib(p.BrokerRSS), p.Goroutines, p.FDs, p.BrokerFDs)
	fmt.Fprintf(w, "  process     idle: heap %s, RSS %s, %d fds; broker RSS %s, %d fds; consumer reconnects %d\n",
		kib(int64(r.Idle.Heap)), kib(int64(r.Idle.RSS)), r.Idle.FDs, kib(int64(r.Idle.BrokerRSS)), r.Idle.BrokerFDs, r.ConsumerReconnects)
	if n := len(r.ConsumerCommits); n > 0 {
		fmt.Fprintf(w, "  consumer    %d events stored in %d fsynced transactions (%.1f each), commit p50 %s p99 %s max %s; %d undecodable\n",
			r.ConsumerStored, n, float64(r.ConsumerStored)/float64(n), ms(percentile(r.ConsumerCommits, 50)),
			ms(percentile(r.ConsumerCommits, 99)), ms(percentile(r.ConsumerCommits, 100)), r.ConsumerBad)
	}
	fmt.Fprintf(w, "  broker log  %d lines of errors and warnings\n", r.BrokerLogLines)
	for _, l := range r.BrokerLog {
		fmt.Fprintf(w, "              %s\n", l)
	}
}

// printSummary prints the median and the range of each figure over runs.
func printSummary(w io.Writer, rs []*result) {
	fmt.Fprintf(w, "summary of %d runs, %d kiosks: median [min – max]\n", len(rs), rs[0].Kiosks)
	row := func(name string, f func(*result) float64, unit string) {
		v := make([]float64, len(rs))
		for i, r := range rs {
			v[i] = f(r)
		}
		slices.Sort(v)
		fmt.Fprintf(w, "  %-24s %10.2f [%.2f – %.2f] %s\n", name, v[len(v)/2], v[0], v[len(v)-1], unit)
	}
	msOf := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	row("alarms journaled", func(r *result) float64 { return float64(r.Tally.Alarms) }, "")
	row("lost", func(r *result) float64 { return float64(r.Tally.Lost) }, "")
	row("latency p50", func(r *result) float64 { return msOf(percentile(r.Tally.Total, 50)) }, "ms")
	row("latency p99", func(r *result) float64 { return msOf(percentile(r.Tally.Total, 99)) }, "ms")
	row("latency max", func(r *result) float64 { return msOf(percentile(r.Tally.Total, 100)) }, "ms")
	row("steady latency p50", func(r *result) float64 { return msOf(percentile(r.Tally.Steady, 50)) }, "ms")
	row("steady latency p99", func(r *result) float64 { return msOf(percentile(r.Tally.Steady, 99)) }, "ms")
	row("press→journaled p99", func(r *result) float64 { return msOf(percentile(r.Tally.Journal, 99)) }, "ms")
	row("duplicates (all)", func(r *result) float64 { return float64(r.Tally.Duplicates) }, "")
	row("duplicates (alarms)", func(r *result) float64 { return float64(r.Tally.AlarmDups) }, "")
	row("restart: all online", func(r *result) float64 { return r.Online.Seconds() }, "s")
	row("restart: backlog in", func(r *result) float64 { return r.Recovered.Seconds() }, "s")
	row("restart: kiosks p50", func(r *result) float64 { return percentile(r.Reconnects, 50).Seconds() }, "s")
	row("wait for CPU p99", func(r *result) float64 { return msOf(r.Sched.quantile(0.99)) }, "ms")
	row("consumer commit p99", func(r *result) float64 { return msOf(percentile(r.ConsumerCommits, 99)) }, "ms")
	row("startup", func(r *result) float64 { return r.Startup.Seconds() }, "s")
	row("heap per kiosk", func(r *result) float64 { return float64(r.PerKiosk.Heap) / 1024 }, "KiB")
	row("RSS per kiosk", func(r *result) float64 { return float64(r.PerKiosk.RSS) / 1024 }, "KiB")
	row("broker RSS per kiosk", func(r *result) float64 { return float64(r.PerKiosk.BrokerRSS) / 1024 }, "KiB")
}
