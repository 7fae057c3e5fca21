package config

import (
	"strings"
	"testing"
)

func TestRelayListen(t *testing.T) {
	tests := []struct {
		name, extra          string
		wantListen, wantAddr string
	}{
		{"left out: every interface", "", ":8554", "127.0.0.1:8554"},
		{"empty: off", "[relay]\nlisten = \"\"\n", "", "127.0.0.1:8554"},
		{"own port: references follow", "[relay]\nlisten = \"10.0.0.7:9554\"\n", "10.0.0.7:9554", "127.0.0.1:9554"},
		{"address kept", "[relay]\nlisten = \":9554\"\naddress = \"post-1.lan:554\"\n", ":9554", "post-1.lan:554"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse([]byte(valid + tt.extra))
			if err != nil {
				t.Fatal(err)
			}
			if got := c.Relay.RelayListen(); got != tt.wantListen {
				t.Errorf("relay.listen = %q, want %q", got, tt.wantListen)
			}
			if c.Relay.Address != tt.wantAddr {
				t.Errorf("relay.address = %q, want %q", c.Relay.Address, tt.wantAddr)
			}
		})
	}
	if got := Sim(t.TempDir()).Relay.RelayListen(); got != "127.0.0.1:8554" {
		t.Errorf("Sim: relay.listen = %q, want loopback", got)
	}
	_, err := Parse([]byte(valid + "[relay]\nlisten = \"8554\"\n"))
	if err == nil || !strings.Contains(err.Error(), "relay.listen") {
		t.Errorf("listen without a colon: %v, want a relay.listen problem", err)
	}
}
