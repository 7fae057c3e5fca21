package drainbench

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"kioskd/hack/brokertest"
)

// BenchmarkRawPahoQoS1 is the yardstick: paho publishing 512-byte QoS 1
// messages to the same mosquitto, pipelined with at most rawWindow unacked.
// "publish" has nobody subscribed; "publish+subscribe" has one subscriber
// and also reports the share of messages it received: mosquitto acks, then
// drops what overflows a slow subscriber's queue.
func BenchmarkRawPahoQoS1(b *testing.B) {
	for _, subscribe := range []bool{false, true} {
		name := map[bool]string{false: "publish", true: "publish+subscribe"}[subscribe]
		b.Run(name, func(b *testing.B) {
			broker := brokertest.Start(b)
			var elapsed time.Duration
			var received int64
			for range b.N {
				d, n := rawPublish(b, broker.URL(), subscribe)
				elapsed += d
				received += n
			}
			b.ReportMetric(float64(b.N*backlog)/elapsed.Seconds(), "msg/s")
			if subscribe {
				b.ReportMetric(100*float64(received)/float64(b.N*backlog), "%received")
			}
		})
	}
}

const rawWindow = 4096

// rawPublish publishes backlog messages and returns how long it took until
// the last PUBACK (and the last message received, if subscribed) and how
// many the subscriber received.
func rawPublish(b *testing.B, url string, subscribe bool) (time.Duration, int64) {
	topic := fmt.Sprintf("raw/%d", clientSeq.Add(1))
	var sub counter
	if subscribe {
		sub.subscribe(b, url, topic)
	}
	c := connect(b, url, false)
	payload := make([]byte, 512)
	toks := make([]mqtt.Token, rawWindow)
	start := time.Now()
	for i := range backlog {
		if tok := toks[i%rawWindow]; tok != nil {
			if err := wait(tok); err != nil {
				b.Fatalf("publish %d: %v", i-rawWindow, err)
			}
		}
		toks[i%rawWindow] = c.Publish(topic, 1, false, payload)
	}
	for _, tok := range toks {
		if err := wait(tok); err != nil {
			b.Fatal(err)
		}
	}
	end := time.Now()
	if !subscribe {
		return end.Sub(start), 0
	}
	return sub.settle(end).Sub(start), sub.n.Load()
}

// counter counts the messages of one subscription.
type counter struct {
	n    atomic.Int64
	last atomic.Int64 // unix ns of the last message
}

func (c *counter) subscribe(b *testing.B, url, topic string) {
	sub := connect(b, url, true)
	if err := wait(sub.Subscribe(topic, 1, func(mqtt.Client, mqtt.Message) {
		c.n.Add(1)
		c.last.Store(time.Now().UnixNano())
	})); err != nil {
		b.Fatal(err)
	}
}

// settle waits until all messages arrived or none came for a second, and
// returns when the last arrived, or notBefore if that is later.
func (c *counter) settle(notBefore time.Time) time.Time {
	for c.n.Load() < backlog && time.Since(time.Unix(0, c.last.Load())) < time.Second {
		time.Sleep(10 * time.Millisecond)
	}
	if last := time.Unix(0, c.last.Load()); last.After(notBefore) {
		return last
	}
	return notBefore
}
