package firmware_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"kioskd/cloudlink/contract"
	"kioskd/firmware/config"
	"kioskd/firmware/testhooks"
	"kioskd/firmware/update"
	"kioskd/firmware/upkeep"
)

// The update tests run real kioskd binaries built with their own versions
// and play systemd: a loop that starts `kioskd launch` of the packaged
// binary and starts it again whenever it exits.

// releaseKey signs the test releases; updateConfig makes kiosks trust it.
var releaseKey, releasePubPEM = func() (ed25519.PrivateKey, []byte) {
	pub, priv, err := contract.GenerateKeyPEM()
	if err != nil {
		panic(err)
	}
	key, err := contract.ParsePrivateKeyPEM(priv)
	if err != nil {
		panic(err)
	}
	return key, pub
}()

var builds struct {
	sync.Mutex
	paths map[string]string
}

// buildVersion builds kioskd at version with the test hooks, once per test
// binary; crash sets the crash-at-start switch (testhooks.CrashAtStartVar).
func buildVersion(t *testing.T, version string, crash bool) string {
	t.Helper()
	builds.Lock()
	defer builds.Unlock()
	key := fmt.Sprintf("%s-%v", version, crash)
	if p, ok := builds.paths[key]; ok {
		return p
	}
	ldflags := "-X kioskd/firmware.Version=" + version
	if crash {
		ldflags += " -X " + testhooks.CrashAtStartVar + "=yes"
	}
	path := filepath.Join(filepath.Dir(kioskdBin), "kioskd-"+key)
	out, err := exec.Command("go", "build", "-tags", testhooks.Tag, "-ldflags", ldflags, "-o", path, "./cmd/kioskd").CombinedOutput()
	if err != nil {
		t.Fatalf("build kioskd %s: %v\n%s", key, err, out)
	}
	if builds.paths == nil {
		builds.paths = map[string]string{}
	}
	builds.paths[key] = path
	return path
}

// installPackaged copies a build to where the package would put it. cp
// writes it, not this process: with tests in parallel, a fork for another
// test can inherit a write descriptor of ours for a moment, and exec of
// the file then fails with "text file busy" (go.dev/issue/22315).
func installPackaged(t *testing.T, build string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "usr", "bin", "kioskd")
	os.MkdirAll(filepath.Dir(dst), 0o755)
	if out, err := exec.Command("cp", build, dst).CombinedOutput(); err != nil {
		t.Fatalf("cp %s: %v: %s", build, err, out)
	}
	return dst
}

// updateConfig is simConfig with the release key and short update times.
func updateConfig(t *testing.T, stateDir, brokerURL string, edit ...func(*config.Config)) (string, string) {
	keyFile := filepath.Join(t.TempDir(), "release-key.pem")
	if err := os.WriteFile(keyFile, releasePubPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	return simConfig(t, stateDir, brokerURL, append([]func(*config.Config){func(c *config.Config) {
		c.Update.PublicKeyFiles = []string{keyFile}
		c.Update.QuietAfter = config.Duration{Duration: time.Second}
		c.Update.TrialDeadline = config.Duration{Duration: 8 * time.Second}
		c.SelfTest.AckWithin = config.Duration{Duration: 5 * time.Second}
		c.MQTT.Heartbeat = config.Duration{Duration: 5 * time.Second}
	}}, edit...)...)
}

// supervisor plays systemd's Restart=always for `kioskd launch`, for at
// most maxStarts starts.
type supervisor struct {
	t        *testing.T
	log      *syncWriter
	stop     chan struct{}
	done     chan struct{}
	mu       sync.Mutex
	exits    []int // exit status of each run that ended
	starts   int
	current  *exec.Cmd
	stopping bool
}

const maxStarts = 12

func startSupervisor(t *testing.T, packaged, cfgPath string) *supervisor {
	s := &supervisor{t: t, log: &syncWriter{w: &strings.Builder{}}, stop: make(chan struct{}), done: make(chan struct{})}
	go s.loop(packaged, cfgPath)
	t.Cleanup(s.shutdown)
	return s
}

func (s *supervisor) loop(packaged, cfgPath string) {
	defer close(s.done)
	for range maxStarts {
		cmd := exec.Command(packaged, "launch", "-config", cfgPath)
		cmd.Stdout, cmd.Stderr = s.log, s.log
		s.mu.Lock()
		if s.stopping {
			s.mu.Unlock()
			return
		}
		err := cmd.Start()
		s.current, s.starts = cmd, s.starts+1
		s.mu.Unlock()
		if err != nil {
			s.t.Errorf("supervisor: start: %v", err)
			return
		}
		err = cmd.Wait()
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		}
		s.mu.Lock()
		s.exits = append(s.exits, code)
		stopping := s.stopping
		s.mu.Unlock()
		if stopping {
			return
		}
		select { // RestartSec
		case <-s.stop:
			return
		case <-time.After(300 * time.Millisecond):
		}
	}
}

func (s *supervisor) shutdown() {
	s.mu.Lock()
	s.stopping = true
	if s.current != nil && s.current.Process != nil {
		s.current.Process.Signal(syscall.SIGTERM)
	}
	s.mu.Unlock()
	close(s.stop)
	select {
	case <-s.done:
	case <-time.After(15 * time.Second):
		s.mu.Lock()
		s.current.Process.Kill()
		s.mu.Unlock()
		<-s.done
	}
	if s.t.Failed() {
		s.t.Logf("kioskd log:\n%s", s.logText())
	}
}

func (s *supervisor) exitCodes() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]int(nil), s.exits...)
}

func (s *supervisor) logText() string {
	s.log.mu.Lock()
	defer s.log.mu.Unlock()
	return s.log.w.String()
}

// artifacts serves release binaries over HTTP on 127.0.0.1; the first
// cuts requests of each file drop the connection half-way.
type artifacts struct {
	srv   *httptest.Server
	mu    sync.Mutex
	files map[string][]byte
	cuts  map[string]int
	gets  map[string][]string // Range headers asked, per file
}

func newArtifacts(t *testing.T) *artifacts {
	a := &artifacts{files: map[string][]byte{}, cuts: map[string]int{}, gets: map[string][]string{}}
	a.srv = httptest.NewServer(http.HandlerFunc(a.serve))
	t.Cleanup(a.srv.Close)
	return a
}

func (a *artifacts) serve(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	data, ok := a.files[r.URL.Path]
	a.gets[r.URL.Path] = append(a.gets[r.URL.Path], r.Header.Get("Range"))
	cut := a.cuts[r.URL.Path] > 0
	if cut {
		a.cuts[r.URL.Path]--
	}
	a.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	if cut {
		w.Header().Set("Content-Length", strconv.Itoa(len(data)))
		w.WriteHeader(http.StatusOK)
		w.Write(data[:len(data)/2])
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler)
	}
	http.ServeContent(w, r, "kioskd", time.Time{}, bytes.NewReader(data))
}

// publish serves a build at path, cut cuts times, and returns update args
// for it signed with the release key.
func (a *artifacts) publish(t *testing.T, path, build, version string, cut int) contract.UpdateArgs {
	t.Helper()
	data, err := os.ReadFile(build)
	if err != nil {
		t.Fatal(err)
	}
	a.mu.Lock()
	a.files[path], a.cuts[path] = data, cut
	a.mu.Unlock()
	sum := sha256.Sum256(data)
	args := contract.UpdateArgs{URL: a.srv.URL + path, Version: version, SHA256: hex.EncodeToString(sum[:]),
		Size: int64(len(data)), Arch: upkeep.Arch()}
	if args.Signature, err = contract.SignRelease(releaseKey, version, args.SHA256, args.Arch); err != nil {
		t.Fatal(err)
	}
	return args
}

func (a *artifacts) rangesAsked(path string) []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.gets[path]...)
}

// startedVersions lists the versions of kiosk.started events, in seq
// order of arrival.
func startedVersions(evs []contract.Event) []string {
	var out []string
	for _, ev := range ofType(evs, "kiosk.started") {
		var d struct {
			Version string `json:"version"`
		}
		json.Unmarshal(ev.Data, &d)
		out = append(out, d.Version)
	}
	return out
}

// updateData decodes an update.* event's data.
func updateData(t *testing.T, ev contract.Event) map[string]any {
	t.Helper()
	var d map[string]any
	if err := json.Unmarshal(ev.Data, &d); err != nil {
		t.Fatalf("%s data: %v", ev.Type, err)
	}
	return d
}

// slotsCurrent is where the kiosk's `current` link points.
func slotsCurrent(t *testing.T, stateDir string) string {
	t.Helper()
	cur, err := update.Slots{Dir: filepath.Join(stateDir, "slots")}.Current()
	if err != nil {
		t.Fatal(err)
	}
	return cur
}
