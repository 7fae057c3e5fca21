package console

import (
	"slices"
	"testing"
	"time"

	"kioskd/hack/brokertest"
)

// BenchmarkEventToAck measures one event's round trip as a kiosk sees it:
// publish, the station stores it (fsynced) and acks, the ack arrives.
//
//	go test -run XXX -bench EventToAck -benchtime 500x -count 5 ./hack/station/console/
func BenchmarkEventToAck(b *testing.B) {
	broker := noDelayBroker(b)
	c, _ := startConsole(b, broker.URL(), "station", time.Minute)
	kiosk := brokertest.Connect(b, broker.URL())
	announce(b, kiosk, []*Console{c}, "k1")
	acks := kiosk.Subscribe("gongzhi/v1/k1/ack")
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		start := time.Now()
		publishEvent(kiosk, event("k1", uint64(i+1), "incident.registered", "inc-1"))
		brokertest.Next(b, acks, waitLong)
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50_µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99_µs")
	if n, _ := c.Store().CountEvents(); n != b.N {
		b.Fatalf("stored %d, want %d", n, b.N)
	}
}

// BenchmarkBacklogDrain measures throughput: a kiosk drains its backlog
// with at most 256 events in flight (the kiosk's default), until every event
// is acked. The station batches its transactions.
//
//	go test -run XXX -bench BacklogDrain -benchtime 5000x -count 5 ./hack/station/console/
func BenchmarkBacklogDrain(b *testing.B) {
	const inFlight = 256
	broker := noDelayBroker(b)
	c, pub := startConsole(b, broker.URL(), "station", time.Minute)
	kiosk := brokertest.Connect(b, broker.URL())
	announce(b, kiosk, []*Console{c}, "k1")
	acks := kiosk.Subscribe("gongzhi/v1/k1/ack")
	events := make([]Received, b.N)
	for i := range events {
		events[i] = event("k1", uint64(i+1), "incident.registered", "inc-1")
	}
	b.ResetTimer()
	sent, acked := 0, 0
	for acked < b.N {
		if sent < b.N && sent-acked < inFlight {
			publishEvent(kiosk, events[sent])
			sent++
			continue
		}
		acked += len(openAck(b, brokertest.Next(b, acks, waitLong), pub).IDs)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	if v := c.View(); v.Counts.Stored != uint64(b.N) {
		b.Errorf("stored %d of %d (counts %+v)", v.Counts.Stored, b.N, v.Counts)
	}
}

// noDelayBroker is mosquitto with set_tcp_nodelay, as the README advises;
// without it each round trip waits about 40 ms on Nagle's algorithm.
func noDelayBroker(b *testing.B) *brokertest.Broker {
	brokertest.RequireMosquitto(b)
	broker, err := brokertest.Launch(b.TempDir(), brokertest.Options{NoDelay: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(broker.Stop)
	return broker
}
