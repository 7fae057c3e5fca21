package main

import (
	"fmt"
	"log/slog"
	"net"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/auth"
	"github.com/mochi-mqtt/server/v2/listeners"
)

// startBroker runs an embedded MQTT broker that lets anyone in: it listens
// on loopback only, for the simulation. Close it with Close.
func startBroker(addr string, log *slog.Logger) (*mqtt.Server, error) {
	ln, err := net.Listen("tcp", addr) // fail here, clearly, if the port is taken
	if err != nil {
		return nil, fmt.Errorf("embedded broker: %w (is another broker running? use -broker)", err)
	}
	ln.Close()
	srv := mqtt.New(&mqtt.Options{InlineClient: false, Logger: log})
	if err := srv.AddHook(new(auth.AllowHook), nil); err != nil {
		return nil, fmt.Errorf("embedded broker: %w", err)
	}
	if err := srv.AddListener(listeners.NewTCP(listeners.Config{ID: "sim", Address: addr})); err != nil {
		return nil, fmt.Errorf("embedded broker: %w", err)
	}
	go func() {
		if err := srv.Serve(); err != nil {
			log.Error("embedded broker stopped", "err", err)
		}
	}()
	return srv, nil
}
