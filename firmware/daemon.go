// Package firmware starts, configures and supervises kioskd: it opens the
// journal, builds the controller, the cloud link, the devices and the HTTP
// server from one config, and joins them. Nothing here decides what happens
// to an incident (kiosk) or speaks MQTT (cloudlink).
package firmware

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"kioskd/cloudlink"
	"kioskd/cloudlink/contract"
	"kioskd/devices"
	"kioskd/firmware/cameras"
	"kioskd/firmware/config"
	"kioskd/firmware/listeners"
	"kioskd/firmware/systemd"
	"kioskd/firmware/testhooks"
	"kioskd/kiosk"
	"kioskd/kiosk/journal"
	"kioskd/kiosk/screen"
)

// Version is set at build time with -ldflags "-X kioskd/firmware.Version=...".
var Version = "dev"

// JournalFile is the journal's name inside the state directory.
const JournalFile = "journal.db"

// Devices are the post's hardware, built from the config.
type Devices struct {
	Inputs     []devices.Input
	Requests   map[string]kiosk.Request // button name → what it asks for
	Indicators []devices.Indicator
	SimAPI     http.Handler // simulated devices' control routes, or nil
}

// Daemon is kioskd: one config, one journal, one controller, one link.
type Daemon struct {
	cfg     *config.Config
	devices Devices
	log     *slog.Logger
	ready   chan struct{}
	addr    net.Addr
	health  *health
	ctrl    *kiosk.Controller // set by Run before Ready; read only by tests and benchmarks
	link    *cloudlink.Link   // likewise
	cams    *cameras.Set      // the cameras and their clips
	hub     *screen.Hub       // the screens' live updates
}

// New builds the daemon without I/O.
func New(cfg *config.Config, devs Devices, log *slog.Logger) *Daemon {
	return &Daemon{cfg: cfg, devices: devs, log: log, ready: make(chan struct{}), health: newHealth()}
}

// Ready is closed once the HTTP server listens and the controller runs.
func (d *Daemon) Ready() <-chan struct{} { return d.ready }

// HTTPAddr is the address the HTTP server listens on; valid after Ready.
func (d *Daemon) HTTPAddr() string { return d.addr.String() }

// Run runs the daemon until ctx is done. A cancelled ctx is not an error.
func (d *Daemon) Run(ctx context.Context) error {
	if err := os.MkdirAll(d.cfg.Kiosk.StateDir, 0o700); err != nil {
		return fmt.Errorf("state directory: %w", err)
	}
	j, err := journal.Open(filepath.Join(d.cfg.Kiosk.StateDir, JournalFile), journal.Options{
		KioskID: d.cfg.Kiosk.ID, Timeout: 2 * time.Second,
		MaxSize: d.cfg.Journal.MaxSize.Bytes, Reserve: d.cfg.Journal.Reserve.Bytes,
		TelemetryBudget: d.cfg.Journal.TelemetryBudget,
	})
	if err != nil {
		return fmt.Errorf("open journal: %w", err)
	}
	defer j.Close()
	if s := j.Salvaged(); s.Reason != "" {
		d.log.Error("JOURNAL DAMAGED OR MISSING: what could be read was salvaged into a new one; a person must acknowledge the recovery",
			"kept_at", s.Aside, "reason", s.Reason, "events", s.Events, "requeued", s.Requeued,
			"open_incidents", s.OpenIncidents, "seq_from", s.SeqFrom)
	}
	state, err := kiosk.Load(j)
	if err != nil {
		return err
	}
	wall, synced, err := testhooks.WallClock(time.Now, clockSynced) // unchanged in a release build
	if err != nil {
		return err
	}
	clock := kiosk.NewClock(wall, j.ClockFloor(), synced)
	ctrl := kiosk.New(d.rules(), Version, j, clock, state, d.log)
	if err := testhooks.StallController(ctrl, d.log); err != nil { // nothing in a release build
		return err
	}
	d.ctrl = ctrl
	d.startLive(ctrl, state)
	alarmPath := func() error { return d.health.alarmPath(ctrl) }
	wake := cloudlink.NewWake() // the link's Notify, for the parts built before it
	cams, err := d.newCameras(j, ctrl, wake)
	if err != nil {
		return err
	}
	d.cams = cams
	// The one cycle: commands reach the upkeep through the link, and the
	// upkeep asks the link whether the platform is up. It asks only once
	// running, after the link below is built.
	var link *cloudlink.Link
	online := func() bool { return link.Status().Connected }
	up, err := d.newUpkeep(j, ctrl, clock, cams.Statuses, alarmPath, online)
	if err != nil {
		return err
	}
	lc, keys, err := d.linkConfig(j, wake)
	if err != nil {
		return err
	}
	br, err := newBridge(j, ctrl, clock, cams, up, commandKeys{keys, d.cfg.Commands.AllowUnsigned}, alarmPath, d.log)
	if err != nil {
		return err
	}
	link = cloudlink.New(lc, br.Outbox, br, d.log.With("part", "cloudlink"))
	d.link = link
	ln, err := net.Listen("tcp", d.cfg.HTTP.Listen)
	if err != nil {
		return fmt.Errorf("http.listen %s: %w", d.cfg.HTTP.Listen, err)
	}
	d.addr = ln.Addr()
	ctrl.OnCommit(func(_ []journal.Event, s kiosk.State) {
		link.Notify()
		d.showPattern(kiosk.Pattern(s))
	})
	d.showPattern(kiosk.Pattern(state))
	// The first journal check runs before the link or the HTTP server can
	// report health, so neither ever says "not checked yet" (issue 13).
	d.health.checkJournal(j, clock)
	return d.runAll(ctx, br, link, ln)
}

func (d *Daemon) rules() kiosk.Rules {
	return kiosk.Rules{
		CallbackWithin: d.cfg.Incidents.CallbackWithin.Duration,
		CloseWithin:    d.cfg.Incidents.CloseWithin.Duration,
	}
}

// newCameras builds the cameras and their clips (firmware/cameras).
func (d *Daemon) newCameras(j *journal.Journal, ctrl *kiosk.Controller, wake cloudlink.Wake) (*cameras.Set, error) {
	return cameras.New(cameras.Config{
		Cameras: d.cfg.Cameras, Clips: d.cfg.Clips, Relay: d.cfg.Relay, StateDir: d.cfg.Kiosk.StateDir,
		Journal: j, Controller: ctrl, Notify: wake.Notify, Log: d.log,
	})
}

// linkConfig is the cloud link's config, and the command keys for the
// dispatcher (see security.go).
func (d *Daemon) linkConfig(j *journal.Journal, wake cloudlink.Wake) (cloudlink.Config, []ed25519.PublicKey, error) {
	topics, err := contract.NewTopics(d.cfg.MQTT.TopicRoot, d.cfg.Kiosk.ID)
	if err != nil {
		return cloudlink.Config{}, nil, fmt.Errorf("mqtt.topic_root: %w", err)
	}
	password, err := readSecret(d.cfg.MQTT.PasswordFile)
	if err != nil {
		return cloudlink.Config{}, nil, fmt.Errorf("mqtt.password_file: %w", err)
	}
	cfg := cloudlink.Config{
		Broker: d.cfg.MQTT.Broker, ClientID: d.cfg.MQTT.ClientID, Username: d.cfg.MQTT.Username,
		Password: password, KioskID: d.cfg.Kiosk.ID, BootEpoch: j.BootEpoch(), Version: Version,
		Topics: topics, KeepAlive: d.cfg.MQTT.KeepAlive.Duration, AckTimeout: d.cfg.MQTT.AckTimeout.Duration,
		HeartbeatEvery: d.cfg.MQTT.Heartbeat.Duration, Wake: wake,
	}
	keys, err := linkSecurity(d.cfg, &cfg, d.log)
	return cfg, keys, err
}

func readSecret(path string) (string, error) {
	if path == "" {
		return "", nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}

// runAll runs every part until ctx is done or one of them fails for good.
func (d *Daemon) runAll(ctx context.Context, br *bridge, link *cloudlink.Link, ln net.Listener) error {
	j, ctrl := br.journal, br.controller
	g, ctx := errgroup.WithContext(ctx)
	events := make(chan devices.InputEvent, 64)
	g.Go(func() error { return ctrl.Run(ctx) })
	// Nothing reports state or health before the start is journaled: a
	// journal recovery found at open shows from the first heartbeat on.
	select {
	case <-ctrl.Booted():
	case <-ctx.Done(): // Run failed, or we are stopping
		return g.Wait()
	}
	g.Go(func() error { return link.Run(ctx) })
	g.Go(func() error { return d.forwardInputs(ctx, ctrl, events) })
	g.Go(func() error { d.health.watchJournal(ctx, j, br.clock); return nil })
	g.Go(func() error { d.watchSpace(ctx, br); return nil })
	g.Go(func() error { return d.cams.Run(ctx) })               // cameras, clips, clip server, live relay
	g.Go(func() error { return d.watchdog(br, link).Run(ctx) }) // sd_notify: READY, WATCHDOG, STATUS
	g.Go(func() error { d.runLive(ctx, link); return nil })
	g.Go(func() error { return br.upkeep.Run(ctx) })
	g.Go(func() error { return d.runGuard(ctx, br, link) }) // the guard console; see guard.go
	for _, in := range d.devices.Inputs {
		g.Go(func() error { d.runInput(ctx, in, events); return nil })
	}
	for _, ind := range d.devices.Indicators {
		g.Go(func() error { d.runIndicator(ctx, ind); return nil })
	}
	srv := &http.Server{Handler: d.handler(j, ctrl, link), ReadHeaderTimeout: 10 * time.Second}
	g.Go(func() error { return listeners.HTTP(ctx, srv, ln) })
	close(d.ready)
	d.log.Info("kioskd running", "kiosk", d.cfg.Kiosk.ID, "boot_epoch", j.BootEpoch(), "http", d.addr.String(), "broker", d.cfg.MQTT.Broker)
	return g.Wait()
}

func (d *Daemon) handler(j *journal.Journal, ctrl *kiosk.Controller, link *cloudlink.Link) http.Handler {
	api := &screen.Server{
		KioskID: d.cfg.Kiosk.ID, BootEpoch: j.BootEpoch(), Controller: ctrl,
		Health: func() screen.Health { return d.health.report(ctrl, link) },
	}
	mux := http.NewServeMux()
	mux.Handle("/", api.Handler())
	d.cams.Routes(mux)
	d.citizenRoutes(mux, api, link)
	if d.devices.SimAPI != nil {
		mux.Handle("/api/sim/", d.devices.SimAPI)
	}
	return mux
}

// watchdog tells systemd how the alarm path is; see firmware/systemd.
func (d *Daemon) watchdog(br *bridge, link *cloudlink.Link) *systemd.Watchdog {
	return systemd.New(systemd.Config{AlarmPath: br.alarmPath, Online: func() bool { return link.Status().Connected },
		Log: d.log.With("part", "watchdog")})
}

func (d *Daemon) showPattern(p devices.Pattern) {
	for _, ind := range d.devices.Indicators {
		ind.Show(p)
	}
}
