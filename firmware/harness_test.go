package firmware_test

import (
	"crypto/ed25519"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pelletier/go-toml/v2"

	"kioskd/cloudlink/contract"
	"kioskd/firmware/config"
	"kioskd/firmware/testhooks"
	"kioskd/hack/brokertest"
)

// kioskdBin is the real daemon, built once for the whole test binary, with
// the test hooks (firmware/testhooks) compiled in.
var kioskdBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "kioskd-test")
	if err != nil {
		panic(err)
	}
	kioskdBin = filepath.Join(dir, "kioskd")
	out, err := exec.Command("go", "build", "-tags", testhooks.Tag, "-o", kioskdBin, "./cmd/kioskd").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build kioskd: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// platformKey signs the test platform's commands; simConfig makes every
// kiosk trust it.
var platformKey, platformPubPEM = func() (ed25519.PrivateKey, []byte) {
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

// platformKeyFile writes the platform's public key for a kiosk to trust.
func platformKeyFile(t *testing.T) string {
	path := filepath.Join(t.TempDir(), "platform-key.pem")
	if err := os.WriteFile(path, platformPubPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

var counter struct {
	sync.Mutex
	last uint64
}

// nextCounter is the platform's command counter: its clock in Unix
// nanoseconds, strictly increasing.
func nextCounter() uint64 {
	counter.Lock()
	defer counter.Unlock()
	counter.last = max(counter.last+1, uint64(time.Now().UnixNano()))
	return counter.last
}

// kioskProc is one kioskd process in simulation mode.
type kioskProc struct {
	t       *testing.T
	cfgPath string
	http    string
	cmd     *exec.Cmd
	exited  chan struct{}
	log     *strings.Builder
	logw    *syncWriter // writes log; read it with logText while kioskd runs
}

// simConfig writes a sim-driver config for a kiosk talking to brokerURL;
// edit, if given, changes it first.
func simConfig(t *testing.T, stateDir, brokerURL string, edit ...func(*config.Config)) (path, httpAddr string) {
	cfg := config.Sim(stateDir)
	cfg.MQTT.Broker = brokerURL
	cfg.MQTT.AckTimeout = config.Duration{Duration: 2 * time.Second}
	cfg.MQTT.KeepAlive = config.Duration{Duration: 5 * time.Second}
	cfg.HTTP.Listen = fmt.Sprintf("127.0.0.1:%d", brokertest.FreePort(t))
	// config.Sim puts every kiosk's live relay on 127.0.0.1:8554; kiosks of
	// tests running in parallel each need their own.
	relay := fmt.Sprintf("127.0.0.1:%d", brokertest.FreePort(t))
	cfg.Relay.Listen = &relay
	cfg.Commands.PublicKeyFiles = []string{platformKeyFile(t)}
	for _, f := range edit {
		f(cfg)
	}
	data, err := toml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	path = filepath.Join(t.TempDir(), "kioskd.toml")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path, cfg.HTTP.Listen
}

func startKiosk(t *testing.T, cfgPath, httpAddr string) *kioskProc {
	t.Helper()
	k := &kioskProc{t: t, cfgPath: cfgPath, http: "http://" + httpAddr}
	k.start()
	t.Cleanup(k.kill)
	return k
}

func (k *kioskProc) start() {
	k.t.Helper()
	k.log = &strings.Builder{}
	k.cmd = exec.Command(kioskdBin, "-config", k.cfgPath)
	k.logw = &syncWriter{w: k.log}
	k.cmd.Stdout, k.cmd.Stderr = k.logw, k.logw // one writer: exec calls it from one goroutine at a time
	if err := k.cmd.Start(); err != nil {
		k.t.Fatal(err)
	}
	k.exited = make(chan struct{})
	go func() { k.cmd.Wait(); close(k.exited) }()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(k.http + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	k.t.Fatalf("kioskd not healthy within 10s; log:\n%s", k.log)
}

// kill sends SIGKILL: no goodbye, no flush, as a power cut or the OOM killer would.
func (k *kioskProc) kill() {
	k.cmd.Process.Signal(syscall.SIGKILL)
	<-k.exited
}

// press presses a simulated button for 40 ms.
func (k *kioskProc) press(button string) { k.t.Helper(); k.pressFor(button, 40) }

func (k *kioskProc) pressFor(button string, ms int) {
	k.t.Helper()
	body := strings.NewReader(fmt.Sprintf(`{"hold_ms": %d}`, ms))
	resp, err := http.Post(k.http+"/api/sim/buttons/"+button+"/press", "application/json", body)
	if err != nil || resp.StatusCode != http.StatusAccepted {
		k.t.Fatalf("press %s: %v %v", button, err, resp)
	}
	resp.Body.Close()
}

type kioskState struct {
	Incidents []contract.Incident `json:"incidents"`
}

func (k *kioskProc) state() kioskState {
	k.t.Helper()
	resp, err := http.Get(k.http + "/api/state")
	if err != nil {
		k.t.Fatal(err)
	}
	defer resp.Body.Close()
	var s kioskState
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		k.t.Fatal(err)
	}
	return s
}

// waitState polls /api/state until ok says yes, for at most 10 s.
func (k *kioskProc) waitState(what string, ok func(kioskState) bool) kioskState {
	k.t.Helper()
	var s kioskState
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if s = k.state(); ok(s) {
			return s
		}
	}
	k.t.Fatalf("kiosk state never %s; last: %+v", what, s)
	return s
}

// logText is kioskd's output so far.
func (k *kioskProc) logText() string {
	k.logw.mu.Lock()
	defer k.logw.mu.Unlock()
	return k.log.String()
}

type syncWriter struct {
	mu sync.Mutex
	w  *strings.Builder
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// platform plays the police platform: it records every event it receives,
// in arrival order, and acks what it is told to.
type platform struct {
	t       *testing.T
	client  *brokertest.Client
	topics  contract.Topics
	mu      sync.Mutex
	events  []contract.Event // every arrival, duplicates included
	replies []contract.Reply
	autoAck bool
	tls     *tls.Config         // nil: plain TCP
	boots   contract.BootEpochs // the kiosk's boot, from its status: acks name it
}

func newPlatform(t *testing.T, url string, autoAck bool) *platform {
	topics, _ := contract.NewTopics(contract.DefaultRoot, "sim-kiosk")
	p := &platform{t: t, topics: topics, autoAck: autoAck}
	p.connect(url)
	return p
}

// newPlatformTLS is newPlatform over TLS, with the platform's certificate.
func newPlatformTLS(t *testing.T, url string, tc *tls.Config, autoAck bool) *platform {
	topics, _ := contract.NewTopics(contract.DefaultRoot, "sim-kiosk")
	p := &platform{t: t, topics: topics, autoAck: autoAck, tls: tc}
	p.connect(url)
	return p
}

func (p *platform) connect(url string) {
	if p.tls == nil {
		p.client = brokertest.Connect(p.t, url)
	} else {
		c, err := brokertest.ConnectTLS(p.t, url, p.tls)
		if err != nil {
			p.t.Fatalf("platform: connect over TLS: %v", err)
		}
		p.client = c
	}
	statuses := p.client.Subscribe(p.topics.Status()) // first: the kiosk publishes it before any event
	events := p.client.Subscribe(p.topics.Events())
	replies := p.client.Subscribe(p.topics.Replies())
	done, exited := make(chan struct{}), make(chan struct{})
	go func() { p.collect(statuses, events, replies, done); close(exited) }()
	// Cleanups run last-registered first: the collector stops before the
	// client disconnects, so it never acks on a closed connection.
	p.t.Cleanup(func() { close(done); <-exited })
}

func (p *platform) collect(statuses, events, replies <-chan brokertest.Message, done <-chan struct{}) {
	for {
		select {
		case <-done:
			return
		case m := <-statuses:
			p.boots.SeeRetained(m.Payload)
		case m := <-events:
			p.seeStatuses(statuses) // a status that came first is taken first: select picks at random
			var ev contract.Event
			if err := json.Unmarshal(m.Payload, &ev); err != nil {
				p.t.Errorf("platform: bad event %s: %v", m.Payload, err)
				continue
			}
			p.mu.Lock()
			p.events = append(p.events, ev)
			p.mu.Unlock()
			if p.autoAck {
				p.ack(ev.ID)
			}
		case m := <-replies:
			var r contract.Reply
			json.Unmarshal(m.Payload, &r)
			p.mu.Lock()
			p.replies = append(p.replies, r)
			p.mu.Unlock()
		case <-time.After(60 * time.Second):
			return
		}
	}
}

// seeStatuses takes every status message already waiting.
func (p *platform) seeStatuses(statuses <-chan brokertest.Message) {
	for {
		select {
		case m := <-statuses:
			p.boots.SeeRetained(m.Payload)
		default:
			return
		}
	}
}

// ack acks ids with a signed ack for the kiosk's boot as its latest status
// gave it, as a platform must. If the kiosk restarted meanwhile, the ack is
// refused and the kiosk sends the events again.
func (p *platform) ack(ids ...string) {
	p.ackWith(platformKey, p.boots.Of("sim-kiosk"), ids...)
}

// ackWith acks ids with a signed ack for the given boot, signed with key.
func (p *platform) ackWith(key ed25519.PrivateKey, boot uint64, ids ...string) {
	b, err := contract.SignAck(key, contract.Ack{Kiosk: "sim-kiosk", BootEpoch: boot, IDs: ids})
	if err != nil {
		p.t.Errorf("platform: sign ack (boot %d): %v", boot, err)
		return
	}
	p.client.Publish(p.topics.Acks(), b, false)
}

// command sends a command signed with the platform's key, with a fresh
// counter; it returns the command's id.
func (p *platform) command(name string, args any) string {
	return p.send(platformKey, p.newCommand(name, args))
}

// newCommand is a command to this kiosk with a fresh id and counter.
func (p *platform) newCommand(name string, args any) contract.Command {
	a, _ := json.Marshal(args)
	n := nextCounter()
	return contract.Command{V: 1, ID: fmt.Sprintf("cmd-%d", n), Kiosk: "sim-kiosk", Name: name, Args: a, Counter: n}
}

// send signs c with key and publishes it; it returns the command's id. It
// first waits for the kiosk's status: the kiosk announces itself only once
// it has subscribed to its commands, and a command published before that
// is lost (a busy machine, with tests in parallel, made that happen).
func (p *platform) send(key ed25519.PrivateKey, c contract.Command) string {
	p.t.Helper()
	p.waitAnnounced("sim-kiosk") // whose topic it goes to, whatever c says
	b, err := contract.SignCommand(key, c)
	if err != nil {
		p.t.Fatal(err)
	}
	p.client.Publish(p.topics.Commands(), b, false)
	return c.ID
}

// waitAnnounced waits up to 10 s until a status of kiosk has given its
// boot epoch.
func (p *platform) waitAnnounced(kiosk string) {
	p.t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if p.boots.Of(kiosk) != 0 {
			return
		}
	}
	p.t.Fatalf("platform: no status from kiosk %s within 10 s; a command sent now would be lost", kiosk)
}

func (p *platform) received() []contract.Event {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]contract.Event(nil), p.events...)
}

// waitEvents waits until ok accepts what arrived, for at most timeout.
func (p *platform) waitEvents(what string, timeout time.Duration, ok func([]contract.Event) bool) []contract.Event {
	p.t.Helper()
	var got []contract.Event
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if got = p.received(); ok(got) {
			return got
		}
	}
	p.t.Fatalf("platform never saw %s; got %d events", what, len(got))
	return got
}

func (p *platform) waitReply(cmdID string) contract.Reply {
	p.t.Helper()
	return p.waitReplyN(cmdID, 1)
}

// waitReplyN waits for the nth reply to command cmdID (a command sent again
// is answered again) and returns it.
func (p *platform) waitReplyN(cmdID string, n int) contract.Reply {
	p.t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if rs := p.repliesTo(cmdID); len(rs) >= n {
			return rs[n-1]
		}
	}
	p.t.Fatalf("no reply %d to command %s", n, cmdID)
	return contract.Reply{}
}

func (p *platform) repliesTo(cmdID string) []contract.Reply {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []contract.Reply
	for _, r := range p.replies {
		if r.Command == cmdID {
			out = append(out, r)
		}
	}
	return out
}

func ofType(events []contract.Event, typ string) []contract.Event {
	var out []contract.Event
	for _, ev := range events {
		if ev.Type == typ {
			out = append(out, ev)
		}
	}
	return out
}
