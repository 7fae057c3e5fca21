package brokertest

import (
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

const opTimeout = 5 * time.Second

var clientSeq atomic.Int64

// Message is one message a Client received.
type Message struct {
	Topic    string
	Payload  []byte
	Retained bool
}

// Client is a platform-side MQTT client for tests: it plays the police
// platform or any other observer. It disconnects when the test ends.
type Client struct {
	t testing.TB
	c mqtt.Client
}

// Connect connects a clean-session client with a unique id to url.
func Connect(t testing.TB, url string) *Client {
	t.Helper()
	id := "brokertest-" + time.Now().Format("150405") + "-" + strconv.FormatInt(clientSeq.Add(1), 10)
	opts := mqtt.NewClientOptions().AddBroker(url).SetClientID(id).
		SetCleanSession(true).SetAutoReconnect(false).SetOrderMatters(true).
		SetConnectTimeout(opTimeout).SetWriteTimeout(opTimeout)
	c := mqtt.NewClient(opts)
	if err := mqtt.WaitTokenTimeout(c.Connect(), opTimeout); err != nil {
		t.Fatalf("brokertest: connect to %s: %v", url, err)
	}
	t.Cleanup(func() { c.Disconnect(100) })
	return &Client{t: t, c: c}
}

// Subscribe subscribes at QoS 1 and returns the messages in arrival order. The
// channel holds 10,000 messages; beyond that the test fails rather than block
// paho's network loop.
func (c *Client) Subscribe(topic string) <-chan Message {
	c.t.Helper()
	ch := make(chan Message, 10000)
	handler := func(_ mqtt.Client, m mqtt.Message) {
		msg := Message{Topic: m.Topic(), Payload: m.Payload(), Retained: m.Retained()}
		select {
		case ch <- msg:
		default:
			c.t.Errorf("brokertest: subscriber on %s is full; message dropped", topic)
		}
	}
	tok := c.c.Subscribe(topic, 1, handler)
	if err := mqtt.WaitTokenTimeout(tok, opTimeout); err != nil {
		c.t.Fatalf("brokertest: subscribe %s: %v", topic, err)
	}
	return ch
}

// Publish publishes at QoS 1 and waits for the broker's PUBACK.
func (c *Client) Publish(topic string, payload []byte, retained bool) {
	c.t.Helper()
	if err := mqtt.WaitTokenTimeout(c.c.Publish(topic, 1, retained, payload), opTimeout); err != nil {
		c.t.Fatalf("brokertest: publish %s: %v", topic, err)
	}
}

// Next returns the next message from ch, failing the test after timeout.
func Next(t testing.TB, ch <-chan Message, timeout time.Duration) Message {
	t.Helper()
	select {
	case m := <-ch:
		return m
	case <-time.After(timeout):
		t.Fatalf("brokertest: no message within %v", timeout)
		return Message{}
	}
}
