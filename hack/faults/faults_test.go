package main

import (
	"context"
	"testing"
	"time"

	"kioskd/hack/brokertest"
)

// TestFaultsShort runs every scenario in -short mode, so CI (go test ./...)
// runs a short version of the whole fault campaign against the real kioskd
// and a real mosquitto.
func TestFaultsShort(t *testing.T) {
	if testing.Short() {
		t.Skip("the fault campaign takes about two minutes")
	}
	brokertest.RequireMosquitto(t)
	ctx, cancel := context.WithTimeout(t.Context(), 8*time.Minute)
	defer cancel()
	results, err := run(ctx, options{scenario: "all", short: true, fs: "auto"}, t.Output())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(results), len(scenarios); got != want {
		t.Errorf("ran %d scenarios, want %d (timed out?)", got, want)
	}
	for _, r := range results {
		for _, f := range r.failures {
			t.Errorf("scenario %s: %s", r.name, f)
		}
	}
}
