package cloudlink

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"kioskd/cloudlink/contract"
)

// session is one MQTT connection, from CONNECT to its end. Its goroutine (the
// one running Link.session) owns the in-flight set; paho's handlers only
// decode and hand over through channels (inbox.go), the recorder goroutine writes acks
// to the outbox and the watchdog drops a connection gone quiet.
type session struct {
	l      *Link
	cfg    Config
	dial   *dialer
	client mqtt.Client

	failed  chan error     // the first fault reported from another goroutine
	acks    chan []string  // event ids of acks that passed the checks (ack.go)
	cmds    chan []byte    // raw command payloads, in arrival order
	busy    chan []byte    // commands that found cmds full, to answer busy
	record  chan []string  // acked ids for the recorder; capacity 1
	results chan ackResult // what the recorder did
	done    chan struct{}  // closed when the session ends

	ackMsgs     chan []byte     // raw messages from the ack topic, to check
	ackRefusals chan refusedAck // refused acks, for the kiosk to record

	inflight     map[string]*flight // published, not acked by the platform
	recording    map[string]*flight // acked by the platform, not yet recorded in the outbox
	toRecord     []string           // acked ids not yet handed to the recorder
	recorderBusy bool               // a batch is with the recorder
	cursor       uint64             // the highest seq taken from Outbox.Pending in this session
	pubacks      []puback           // publishes awaiting the broker's PUBACK, oldest first
	lastState    []byte             // the State payload last published in this session
	lastCameras  []byte             // the camera report last published; see cameras.go
	beatStatus   string             // the status of the heartbeat last published; see heartbeat.go
}

func newSession(l *Link, tlsConfig *tls.Config) *session {
	s := &session{
		l:         l,
		cfg:       l.cfg,
		dial:      &dialer{timeout: l.cfg.OpTimeout},
		failed:    make(chan error, 1),
		acks:      make(chan []string, 64),
		cmds:      make(chan []byte, commandQueue),
		busy:      make(chan []byte, busyQueue),
		record:    make(chan []string, 1),
		results:   make(chan ackResult),
		done:      make(chan struct{}),
		inflight:  map[string]*flight{},
		recording: map[string]*flight{},

		ackMsgs:     make(chan []byte, ackQueue),
		ackRefusals: make(chan refusedAck, 16),
	}
	s.client = mqtt.NewClient(s.options().SetTLSConfig(tlsConfig))
	return s
}

func (s *session) options() *mqtt.ClientOptions {
	c := s.cfg
	will, _ := json.Marshal(s.l.availability(contract.Offline))
	return mqtt.NewClientOptions().
		AddBroker(c.Broker).
		SetClientID(c.ClientID).
		SetUsername(c.Username).
		SetPassword(c.Password).
		SetProtocolVersion(4).
		SetCleanSession(true).           // our journal is the queue, not paho's store
		SetStore(mqtt.NewMemoryStore()). // nothing in it outlives the session
		SetAutoReconnect(false).         // Run reconnects, with jitter
		SetConnectRetry(false).
		SetResumeSubs(false).
		// In order, so that commands are applied as they arrive; the
		// handlers never wait (see inbox.go). With false, paho runs each
		// handler in a goroutine of its own and two commands that arrive
		// together can be handed over in either order.
		SetOrderMatters(true).
		SetKeepAlive(c.KeepAlive).
		SetPingTimeout(c.KeepAlive/2). // a ping unanswered for KeepAlive/2 ends the connection
		SetConnectTimeout(c.OpTimeout).
		SetWriteTimeout(c.OpTimeout).
		SetCustomOpenConnectionFn(s.dial.open).
		SetBinaryWill(c.Topics.Status(), will, 1, true).
		SetConnectionLostHandler(func(_ mqtt.Client, err error) {
			s.fail(fmt.Errorf("connection lost: %w", err))
		})
}

// session runs one connection until it fails or ctx is done. It returns nil
// when ctx ended it.
func (l *Link) session(ctx context.Context) error {
	tlsConfig, err := l.cfg.TLS.Load()
	if err != nil {
		return fmt.Errorf("tls: %w", err)
	}
	s := newSession(l, tlsConfig)
	if err := s.wait(ctx, s.client.Connect(), "connect to "+l.cfg.Broker); err != nil {
		s.dial.abort()
		s.client.Disconnect(0) // stops paho's goroutines if the handshake got through late
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	var wg sync.WaitGroup
	for _, run := range []func(){func() { s.runCommands(ctx) }, s.runBusy, s.watchdog, s.runRecorder,
		s.runAckChecks, func() { s.runAckRefusals(ctx) }} {
		wg.Go(run)
	}
	err = s.setup(ctx)
	if err == nil {
		l.setConnected()
		l.log.Info("cloudlink: connected", "broker", l.cfg.Broker)
		err = s.loop(ctx)
	}
	close(s.done)
	wg.Wait()
	s.flushAcks()
	if ctx.Err() != nil {
		s.stop()
		return nil
	}
	s.abort()
	return err
}

// setup subscribes and announces the kiosk: availability, then state.
func (s *session) setup(ctx context.Context) error {
	t := s.cfg.Topics
	subs := []struct {
		topic   string
		handler mqtt.MessageHandler
	}{{t.Acks(), s.onAck}, {t.Commands(), s.onCommand}}
	for _, sub := range subs {
		tok := s.client.Subscribe(sub.topic, 1, sub.handler)
		if err := s.wait(ctx, tok, "subscribe "+sub.topic); err != nil {
			return err
		}
		for topic, qos := range tok.(*mqtt.SubscribeToken).Result() {
			if qos > 2 {
				return fmt.Errorf("subscribe %s: refused by broker (code %#x)", topic, qos)
			}
		}
	}
	if err := s.publishAvailability(ctx, contract.Online); err != nil {
		return err
	}
	if err := s.publishState(ctx, true); err != nil {
		return err
	}
	return s.publishCameras(ctx, true)
}

// loop ships events and reacts to acks, notifications, the resend ticker and
// the heartbeat ticker. Nothing in it waits for the broker except the
// retained state and heartbeat publishes.
func (s *session) loop(ctx context.Context) error {
	tick := time.NewTicker(min(time.Second, s.cfg.AckTimeout/2))
	defer tick.Stop()
	beat := time.NewTicker(s.cfg.HeartbeatEvery)
	defer beat.Stop()
	err := s.shipNew()
	if err == nil {
		err = s.publishHeartbeat(ctx)
	}
	for err == nil {
		select {
		case <-ctx.Done():
			return nil
		case err = <-s.failed:
		case ids := <-s.acks:
			s.acked(s.drainAcks(ids))
			err = s.fill()
		case r := <-s.results:
			s.recorded(r)
		case <-s.l.notify:
			err = s.shipNew()
			if err == nil {
				err = s.publishState(ctx, false)
			}
			if err == nil {
				err = s.publishCameras(ctx, false)
			}
			if err == nil {
				err = s.heartbeatOnChange(ctx)
			}
		case <-tick.C:
			err = s.resend()
			if err == nil {
				err = s.shipNew()
			}
		case <-beat.C:
			err = s.publishHeartbeat(ctx)
		}
		if err == nil {
			err = s.checkPubacks()
		}
	}
	return err
}

// shipNew publishes urgent events first, then fills the window from the
// backlog. Events go before any state round trip: an alarm waits for nothing.
func (s *session) shipNew() error {
	if err := s.shipUrgent(); err != nil {
		return err
	}
	return s.fill()
}

// watchdog drops a half-open connection: paho pings whenever nothing has come
// in for KeepAlive and checks every KeepAlive/4 (every 5 s above 10 s), so a
// live connection is never quiet for more than KeepAlive + that interval +
// one round trip. Quiet for 1.5 × KeepAlive, it is a black hole (the margin
// is thin for a KeepAlive just above 10 s). paho alone, with PingTimeout
// KeepAlive/2, noticed only after 1.7-2 × KeepAlive here. The watchdog
// closes the connection itself: a session blocked writing into a full socket
// could not notice.
func (s *session) watchdog() {
	limit := s.cfg.KeepAlive * 3 / 2
	timer := time.NewTimer(limit)
	defer timer.Stop()
	for {
		select {
		case <-s.done:
			return
		case <-timer.C:
		}
		quiet := s.dial.quiet()
		if quiet < limit {
			timer.Reset(limit - quiet)
			continue
		}
		s.fail(fmt.Errorf("nothing from broker for %v (keepalive %v): connection half-open",
			quiet.Round(time.Millisecond), s.cfg.KeepAlive))
		s.dial.abort()
		return
	}
}

// stop ends the session on purpose: "stopped" replaces the will. If the broker
// does not take it, the connection is dropped so the will fires instead.
func (s *session) stop() {
	if err := s.publishAvailability(context.Background(), contract.Stopped); err != nil {
		s.l.log.Warn("cloudlink: stopping without announcing it", "err", err)
		s.abort()
		return
	}
	s.client.Disconnect(250)
}

// abort drops the connection without DISCONNECT, so the broker publishes the will.
func (s *session) abort() {
	s.dial.abort()
	s.client.Disconnect(0) // the connection is gone: this only stops paho's goroutines
}

// fail reports a fault seen outside the session goroutine; the first one ends it.
func (s *session) fail(err error) {
	select {
	case s.failed <- err:
	default:
	}
}

// wait waits for a paho token, at most OpTimeout: paho tokens can hang for ever.
func (s *session) wait(ctx context.Context, tok mqtt.Token, what string) error {
	timer := time.NewTimer(s.cfg.OpTimeout)
	defer timer.Stop()
	select {
	case <-tok.Done():
		if err := tok.Error(); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		return nil
	case <-timer.C:
		return fmt.Errorf("%s: no answer from broker within %v", what, s.cfg.OpTimeout)
	case <-ctx.Done():
		return fmt.Errorf("%s: %w", what, ctx.Err())
	}
}

func (s *session) publishAvailability(ctx context.Context, state string) error {
	b, err := json.Marshal(s.l.availability(state))
	if err != nil {
		return fmt.Errorf("encode availability: %w", err)
	}
	tok := s.client.Publish(s.cfg.Topics.Status(), 1, true, b)
	return s.wait(ctx, tok, "publish availability "+state)
}

// publishState publishes the kiosk's State, retained, when it differs from the
// last one published (always when force is set).
func (s *session) publishState(ctx context.Context, force bool) error {
	st := s.l.kiosk.State()
	if st.V == 0 {
		st.V = contract.SchemaVersion
	}
	if st.Kiosk == "" {
		st.Kiosk = s.cfg.KioskID
	}
	b, err := json.Marshal(st)
	if err != nil {
		s.l.log.Error("cloudlink: cannot encode state", "err", err)
		return nil // a kiosk bug; the link stays up for events
	}
	if !force && bytes.Equal(b, s.lastState) {
		return nil
	}
	if err := s.wait(ctx, s.client.Publish(s.cfg.Topics.State(), 1, true, b), "publish state"); err != nil {
		return err
	}
	s.lastState = b
	return nil
}

// publishHeartbeat publishes the kiosk's vital signs, retained.
func (s *session) publishHeartbeat(ctx context.Context) error {
	hb := s.l.kiosk.Heartbeat()
	if hb.V == 0 {
		hb.V = contract.SchemaVersion
	}
	if hb.Kiosk == "" {
		hb.Kiosk = s.cfg.KioskID
	}
	if hb.BootEpoch == 0 {
		hb.BootEpoch = s.cfg.BootEpoch
	}
	if hb.Version == "" {
		hb.Version = s.cfg.Version
	}
	hb.AcksRefused = s.l.acksRefused.Load()
	b, err := json.Marshal(hb)
	if err != nil {
		s.l.log.Error("cloudlink: cannot encode heartbeat", "err", err)
		return nil // a kiosk bug; the link stays up for events
	}
	s.beatStatus = hb.Status
	return s.wait(ctx, s.client.Publish(s.cfg.Topics.Heartbeat(), 1, true, b), "publish heartbeat")
}

func (l *Link) availability(state string) contract.Availability {
	return contract.Availability{
		V:         contract.SchemaVersion,
		Kiosk:     l.cfg.KioskID,
		State:     state,
		BootEpoch: l.cfg.BootEpoch,
		Time:      time.Now(), // for the will: when the session that died began
		Version:   l.cfg.Version,
	}
}
