package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"kioskd/devices"
	"kioskd/hack/fakecam/camsim"
)

// result is one measurement: medians over cameras of the per-camera
// figures.
type result struct {
	cpu     float64 // percent of one core
	rss     float64 // bytes
	preroll float64 // raw pre-roll bytes held
}

// camProc is one camera child process and its latest health.
type camProc struct {
	cmd *exec.Cmd
	in  io.WriteCloser

	mu      sync.Mutex
	health  devices.CameraHealth
	preroll []float64 // sampled while measuring
	done    chan struct{}
}

// measureRun measures n cameras; with clipDir set, each records a clip
// into it (from its pre-roll) for the whole measuring window.
func measureRun(self string, src *camsim.Source, n int, preRoll, warmup, measure time.Duration, clipDir string) (result, error) {
	var procs []*camProc
	var cams []*camsim.Camera
	defer func() { // the children first, so that they see no camera drop
		for _, p := range procs {
			p.stop()
		}
		for _, c := range cams {
			c.Close()
		}
	}()
	for range n {
		cam, err := camsim.Start(camsim.Options{Source: src, RandomOrigin: true})
		if err != nil {
			return result{}, err
		}
		cams = append(cams, cam)
		p, err := startProc(self, cam.URL(), preRoll)
		if err != nil {
			return result{}, err
		}
		procs = append(procs, p)
	}
	time.Sleep(warmup)
	for _, p := range procs {
		if h := p.latest(); h.State != devices.CameraOnline {
			return result{}, fmt.Errorf("camera not online after warm-up: %+v", h)
		}
	}
	if clipDir != "" {
		for i, p := range procs {
			long := (measure + time.Minute).Milliseconds()
			o := devices.ClipOrder{Op: devices.OpClip, ID: fmt.Sprintf("bench-%d", i), Incident: "bench",
				PreRollMs: preRoll.Milliseconds(), PostRollMs: long, CapMs: long,
				Path: filepath.Join(clipDir, fmt.Sprintf("bench-%d-%d.mp4", i, time.Now().UnixNano()))}
			if err := json.NewEncoder(p.in).Encode(o); err != nil {
				return result{}, fmt.Errorf("clip order: %w", err)
			}
		}
	}
	return sample(procs, measure)
}

// sample measures CPU over the whole window and RSS and pre-roll once a
// second, and returns the medians over cameras.
func sample(procs []*camProc, window time.Duration) (result, error) {
	cpu0 := make([]float64, len(procs))
	for i, p := range procs {
		cpu0[i] = cpuSeconds(p.cmd.Process.Pid)
	}
	start := time.Now()
	rss := make([][]float64, len(procs))
	for time.Since(start) < window {
		time.Sleep(time.Second)
		for i, p := range procs {
			rss[i] = append(rss[i], rssBytes(p.cmd.Process.Pid))
			p.mu.Lock()
			p.preroll = append(p.preroll, float64(p.health.PrerollBytes))
			p.mu.Unlock()
		}
	}
	elapsed := time.Since(start).Seconds()
	var cpus, rsss, prerolls []float64
	for i, p := range procs {
		cpus = append(cpus, 100*(cpuSeconds(p.cmd.Process.Pid)-cpu0[i])/elapsed)
		rsss = append(rsss, median(rss[i]))
		p.mu.Lock()
		prerolls = append(prerolls, median(p.preroll))
		p.mu.Unlock()
	}
	return result{cpu: median(cpus), rss: median(rsss), preroll: median(prerolls)}, nil
}

func startProc(self, url string, preRoll time.Duration) (*camProc, error) {
	cmd := exec.Command(self, "-child", url, "-preroll", preRoll.String())
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &camProc{cmd: cmd, in: in, done: make(chan struct{})}
	go p.read(out)
	return p, nil
}

func (p *camProc) read(out io.Reader) {
	defer close(p.done)
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		var h devices.CameraHealth
		if json.Unmarshal(sc.Bytes(), &h) == nil && h.Type == devices.MessageHealth {
			p.mu.Lock()
			p.health = h
			p.mu.Unlock()
		}
	}
}

func (p *camProc) latest() devices.CameraHealth {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.health
}

// stop closes stdin (Serve returns) and waits, killing after 10 s.
func (p *camProc) stop() {
	p.in.Close()
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		p.cmd.Process.Kill()
	}
	p.cmd.Wait()
}

// cpuSeconds is utime + stime of a process, from /proc/PID/stat.
func cpuSeconds(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	utime, _ := strconv.ParseFloat(fields[11], 64)
	stime, _ := strconv.ParseFloat(fields[12], 64)
	return (utime + stime) / 100 // USER_HZ is 100 on Linux
}

// rssBytes is VmRSS of a process.
func rssBytes(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb * 1024
		}
	}
	return 0
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}

func medianResult(rs []result) result {
	var cpu, rss, pre []float64
	for _, r := range rs {
		cpu, rss, pre = append(cpu, r.cpu), append(rss, r.rss), append(pre, r.preroll)
	}
	return result{cpu: median(cpu), rss: median(rss), preroll: median(pre)}
}
