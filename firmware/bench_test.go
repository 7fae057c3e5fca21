package firmware

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"kioskd/cloudlink/contract"
	"kioskd/firmware/config"
	"kioskd/hack/brokertest"
	"kioskd/kiosk"
)

// BenchmarkPressToPlatform measures one press from the controller's input
// (what a debounced button or a screen touch hands over) to the event
// arriving at a platform subscriber on a real mosquitto: the fsynced journal
// append, the link's publish and the broker's fan-out included. The
// platform acks everything, as a real one would. Reports p50 and p99.
func BenchmarkPressToPlatform(b *testing.B) {
	broker := brokertest.Start(b)
	cfg := config.Sim(b.TempDir())
	cfg.MQTT.Broker = broker.URL()
	cfg.HTTP.Listen = "127.0.0.1:0"
	pubPEM, privPEM, err := contract.GenerateKeyPEM() // the platform's: it signs acks
	if err != nil {
		b.Fatal(err)
	}
	key, _ := contract.ParsePrivateKeyPEM(privPEM)
	cfg.Commands.PublicKeyFiles = []string{filepath.Join(b.TempDir(), "platform.pem")}
	if err := os.WriteFile(cfg.Commands.PublicKeyFiles[0], pubPEM, 0o600); err != nil {
		b.Fatal(err)
	}
	devs, err := BuildDevices(cfg)
	if err != nil {
		b.Fatal(err)
	}
	d := New(cfg, devs, slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- d.Run(ctx) }()
	defer func() { cancel(); <-done }()
	<-d.Ready()

	topics, _ := contract.NewTopics(cfg.MQTT.TopicRoot, cfg.Kiosk.ID)
	events := brokertest.Connect(b, broker.URL()).Subscribe(topics.Events())
	plat := brokertest.Connect(b, broker.URL()) // acks on their own connection
	waitConnected(b, d)
	var boots contract.BootEpochs
	boots.SeeRetained(brokertest.Next(b, plat.Subscribe(topics.Status()), 10*time.Second).Payload)

	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		if _, err := d.ctrl.Submit(ctx, kiosk.Press{Request: kiosk.Police, Source: "bench"}); err != nil {
			b.Fatal(err)
		}
		ev := nextPress(b, events)
		lat = append(lat, time.Since(start))
		ack, err := contract.SignAck(key, contract.Ack{Kiosk: cfg.Kiosk.ID, BootEpoch: boots.Of(cfg.Kiosk.ID), IDs: []string{ev.ID}})
		if err != nil {
			b.Fatal(err)
		}
		plat.Publish(topics.Acks(), ack, false)
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}

func waitConnected(b *testing.B, d *Daemon) {
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if d.link.Status().Connected {
			return
		}
	}
	b.Fatal("link not connected within 10s")
}

// nextPress skips other events (kiosk.started, delivered) until a press.
func nextPress(b *testing.B, ch <-chan brokertest.Message) contract.Event {
	for {
		m := brokertest.Next(b, ch, 5*time.Second)
		var ev contract.Event
		json.Unmarshal(m.Payload, &ev)
		if ev.Type == kiosk.EvRegistered || ev.Type == kiosk.EvPressedAgain {
			return ev
		}
	}
}
