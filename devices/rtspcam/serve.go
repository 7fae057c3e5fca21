package rtspcam

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"kioskd/devices"
)

// clipGrace is how long past its planned end a clip waits for a frame
// before it is finished without one (a stalled camera).
const clipGrace = 2 * time.Second

// Serve runs one camera until ctx is done or in ends (the parent is gone):
// it reads devices.ClipOrder lines from in and writes devices.CameraHealth
// and devices.ClipReport lines to out. Recording clips are finished (cut
// "shutdown") before it returns. It returns nil on cancellation or the end
// of in, and an error if cfg is unusable or out cannot be written.
//
// The reader of in stops only when in ends; in the child process that is
// when the parent closes the pipe or the process exits.
func Serve(ctx context.Context, cfg Config, in io.Reader, out io.Writer, log *slog.Logger) error {
	cfg = cfg.WithDefaults()
	if err := cfg.Check(); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	events := make(chan event, 256)
	orders := make(chan devices.ClipOrder, 16)
	var wg sync.WaitGroup
	wg.Go(func() { (&ingest{cfg: cfg, log: log, events: events}).run(ctx) })
	live := newRelay()
	wg.Go(func() { (&relayServer{relay: live, camera: cfg.Camera, path: cfg.LiveSocket, log: log}).run(ctx) })
	go readOrders(ctx, in, orders, log)

	s := &server{
		log:    log,
		enc:    json.NewEncoder(out),
		ring:   ring{keep: cfg.PreRoll + orderSlack, maxBytes: cfg.MaxPreRollBytes},
		health: health{camera: cfg.Camera},
		clips:  map[string]*clip{},
		live:   live,
	}
	err := s.loop(ctx, events, orders)
	err = errors.Join(err, s.finishAll(cutShutdown, false))
	cancel()
	waitBounded(&wg, cfg.ReadTimeout)
	return err
}

// orderSlack is how late after a press its order may arrive and still
// find the full pre-roll in the ring.
const orderSlack = 2 * time.Second

// waitBounded waits for wg, but not longer than d: vdk's Dial cannot be
// cancelled and ends only at its own timeouts.
func waitBounded(wg *sync.WaitGroup, d time.Duration) {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(d):
	}
}

// readOrders decodes order lines until in ends (then it closes orders) or
// ctx is done.
func readOrders(ctx context.Context, in io.Reader, orders chan<- devices.ClipOrder, log *slog.Logger) {
	defer close(orders)
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		var o devices.ClipOrder
		if err := json.Unmarshal(sc.Bytes(), &o); err != nil {
			log.Warn("camera: bad order line", "err", err)
			continue
		}
		select {
		case orders <- o:
		case <-ctx.Done():
			return
		}
	}
	if err := sc.Err(); err != nil {
		log.Warn("camera: reading orders", "err", err)
	}
}

// server is the state Serve's loop owns: the ring, the clips, the health.
type server struct {
	log     *slog.Logger
	enc     *json.Encoder
	ring    ring
	health  health
	clips   map[string]*clip
	lastLog string // the last fault logged, so a repeating one logs once
	live    *relay // the live relay's fan-out (relay.go)
}

func (s *server) loop(ctx context.Context, events <-chan event, orders <-chan devices.ClipOrder) error {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	if err := s.sendHealth(time.Now(), true); err != nil {
		return err
	}
	for {
		var err error
		select {
		case <-ctx.Done():
			return nil
		case o, ok := <-orders:
			if !ok {
				return nil
			}
			err = s.order(o)
		case e := <-events:
			err = s.event(e)
		case now := <-tick.C:
			err = s.tick(now)
		}
		if err == nil {
			err = s.sendHealth(time.Now(), false)
		}
		if err != nil {
			return err
		}
	}
}

func (s *server) send(v any) error {
	if err := s.enc.Encode(v); err != nil {
		return fmt.Errorf("camera: write to parent: %w", err)
	}
	return nil
}

// sendHealth sends the health report if it changed, or always if forced.
func (s *server) sendHealth(now time.Time, force bool) error {
	m := s.health.report(now, &s.ring)
	m.Relay = s.live.stats()
	if !force && !s.health.changed(m) {
		return nil
	}
	s.health.lastSent = m
	return s.send(m)
}
