package main

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	bolt "go.etcd.io/bbolt"

	"kioskd/cloudlink/contract"
)

// sharedEvents is the consumers' subscription: each event goes to one member
// of the group "fleet", so several consumers split the fleet's load.
const sharedEvents = "$share/fleet/gongzhi/v1/+/events"

// statuses tells the acker each kiosk's current boot epoch, which every ack
// must name (not shared: retained messages do not reach shared subscriptions).
const statuses = "gongzhi/v1/+/status"

// consumer plays the station side: several connections in one shared
// subscription receive the events; one goroutine stores each batch in a
// bbolt file (one fsynced transaction), notes it in the ledger and only then
// acks it, on each kiosk's ack topic through a separate connection.
type consumer struct {
	book       *ledger
	db         *bolt.DB
	subs       []mqtt.Client
	acker      mqtt.Client
	key        ed25519.PrivateKey  // signs every ack
	boots      contract.BootEpochs // each kiosk's boot, from its status
	unsigned   atomic.Int64        // acks not sent: the kiosk's boot not known yet
	toAck      chan received
	reconnects atomic.Int64
	bad        atomic.Int64    // messages that did not decode
	subscribed atomic.Int64    // unix ns of the last successful (re)subscription
	commits    []time.Duration // each store transaction's duration; runAcks's own
	stored     int             // events stored, repeats included; runAcks's own
	wg         sync.WaitGroup
}

// received is one event message as the consumer got it.
type received struct {
	id, kiosk string
	payload   []byte
}

var eventsBucket = []byte("events")

// startConsumer opens its store at dbPath, connects n subscribers and the
// acker to url and starts acking; it returns once all are subscribed.
func startConsumer(ctx context.Context, url string, n int, book *ledger, dbPath string, key ed25519.PrivateKey) (*consumer, error) {
	db, err := bolt.Open(dbPath, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		return nil, fmt.Errorf("consumer store: %w", err)
	}
	c := &consumer{book: book, db: db, key: key, toAck: make(chan received, 1<<16)}
	subscribed := make(chan error, 1)
	c.acker = mqtt.NewClient(c.options(url, "fleet-acker").
		SetOnConnectHandler(func(cl mqtt.Client) {
			c.reconnects.Add(1)
			tok := cl.Subscribe(statuses, 1, func(_ mqtt.Client, m mqtt.Message) { c.boots.SeeRetained(m.Payload()) })
			go func() { // not in the handler: it would block paho's connect
				select {
				case subscribed <- waitToken(tok):
				default:
				}
			}()
		}))
	if err := connect(c.acker); err != nil {
		db.Close()
		return nil, err
	}
	if err := <-subscribed; err != nil {
		c.acker.Disconnect(0)
		db.Close()
		return nil, fmt.Errorf("subscribe %s: %w", statuses, err)
	}
	for i := range n {
		if err := c.connectSubscriber(url, "fleet-consumer-"+strconv.Itoa(i)); err != nil {
			c.close()
			return nil, err
		}
	}
	c.reconnects.Store(0)
	c.wg.Go(func() { c.runAcks(ctx) })
	return c, nil
}

// connectSubscriber connects one member of the shared subscription; it
// subscribes again on every reconnect.
func (c *consumer) connectSubscriber(url, id string) error {
	subscribed := make(chan error, 1)
	opts := c.options(url, id).SetOnConnectHandler(func(cl mqtt.Client) {
		c.reconnects.Add(1)
		tok := cl.Subscribe(sharedEvents, 1, c.onEvent)
		go func() { // not in the handler: it would block paho's connect
			err := waitToken(tok)
			if err != nil {
				slog.Error("consumer: subscribe after connect", "err", err)
			} else {
				c.subscribed.Store(time.Now().UnixNano())
			}
			select {
			case subscribed <- err:
			default:
			}
		}()
	})
	cl := mqtt.NewClient(opts)
	c.subs = append(c.subs, cl)
	if err := connect(cl); err != nil {
		return err
	}
	if err := <-subscribed; err != nil {
		return fmt.Errorf("subscribe %s: %w", sharedEvents, err)
	}
	return nil
}

// options: the consumer reconnects every 20 ms, not with a fleet's backoff.
// Kiosks that reconnect after a broker restart before it has subscribed
// again publish into nothing (the broker acks and drops) and re-send only
// after their ack timeout.
func (c *consumer) options(url, id string) *mqtt.ClientOptions {
	return mqtt.NewClientOptions().AddBroker(url).SetClientID(id).
		SetCleanSession(true).SetOrderMatters(false).
		SetAutoReconnect(true).SetConnectRetry(true).
		SetConnectRetryInterval(20 * time.Millisecond).SetMaxReconnectInterval(20 * time.Millisecond).
		SetKeepAlive(10 * time.Second).SetConnectTimeout(5 * time.Second).SetWriteTimeout(5 * time.Second)
}

func connect(cl mqtt.Client) error {
	if err := waitToken(cl.Connect()); err != nil {
		return fmt.Errorf("consumer connect: %w", err)
	}
	return nil
}

func waitToken(tok mqtt.Token) error {
	if !tok.WaitTimeout(10 * time.Second) {
		return fmt.Errorf("no answer from the broker in 10s")
	}
	return tok.Error()
}

// onEvent hands the event to the storing goroutine. paho runs it on a
// goroutine of its own (order does not matter).
func (c *consumer) onEvent(_ mqtt.Client, m mqtt.Message) {
	var ev contract.Event
	if err := json.Unmarshal(m.Payload(), &ev); err != nil || ev.ID == "" || !contract.ValidKioskID(ev.Kiosk) {
		c.bad.Add(1)
		return
	}
	c.toAck <- received{id: ev.ID, kiosk: ev.Kiosk, payload: m.Payload()}
}

// runAcks stores what has gathered in one transaction, then acks it, one
// message per kiosk. A repeated event is stored and acked again: the last
// ack may have been lost. Acks are fire-and-forget: a lost one makes the
// kiosk send the event again.
func (c *consumer) runAcks(ctx context.Context) {
	for {
		var batch []received
		select {
		case <-ctx.Done():
			return
		case r := <-c.toAck:
			batch = append(batch, r)
		}
	gather:
		for len(batch) < 4096 {
			select {
			case r := <-c.toAck:
				batch = append(batch, r)
			default:
				break gather
			}
		}
		if err := c.storeBatch(batch); err != nil {
			slog.Error("consumer: store; not acked", "events", len(batch), "err", err)
			continue
		}
		acks := map[string][]string{}
		for _, r := range batch {
			acks[r.kiosk] = append(acks[r.kiosk], r.id)
		}
		for kiosk, ids := range acks {
			c.publishAck(kiosk, ids)
		}
	}
}

// storeBatch writes the events in one fsynced transaction, then tells the ledger.
func (c *consumer) storeBatch(batch []received) error {
	start := time.Now()
	err := c.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(eventsBucket)
		if err != nil {
			return err
		}
		for _, r := range batch {
			if err := b.Put([]byte(r.id), r.payload); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	at := time.Now()
	c.commits = append(c.commits, at.Sub(start))
	c.stored += len(batch)
	for _, r := range batch {
		c.book.store(r.id, at)
	}
	return nil
}

func (c *consumer) publishAck(kiosk string, ids []string) {
	topics, err := contract.NewTopics(contract.DefaultRoot, kiosk)
	if err != nil {
		slog.Error("ack topic", "kiosk", kiosk, "err", err)
		return
	}
	boot := c.boots.Of(kiosk)
	if boot == 0 {
		c.unsigned.Add(int64(len(ids))) // the kiosk re-sends them after its ack timeout
		return
	}
	for len(ids) > 0 {
		n := min(len(ids), contract.MaxAckIDs)
		b, err := contract.SignAck(c.key, contract.Ack{Kiosk: kiosk, BootEpoch: boot, IDs: ids[:n]})
		if err != nil {
			slog.Error("sign ack", "kiosk", kiosk, "err", err)
			return
		}
		c.acker.Publish(topics.Acks(), 1, false, b)
		ids = ids[n:]
	}
}

// close disconnects everything; call after the ctx given to startConsumer is done.
func (c *consumer) close() {
	c.wg.Wait()
	for _, cl := range c.subs {
		cl.Disconnect(100)
	}
	c.acker.Disconnect(100)
	if err := c.db.Close(); err != nil {
		slog.Error("consumer store", "err", err)
	}
}
