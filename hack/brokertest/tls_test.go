package brokertest

import (
	"testing"
	"time"
)

// A TLS broker takes a client with a certificate from its CA and refuses
// one without a certificate or with one from another CA.
func TestTLSBroker(t *testing.T) {
	RequireMosquitto(t)
	dir := t.TempDir()
	pki, err := NewPKI(dir, "test")
	if err != nil {
		t.Fatal(err)
	}
	other, err := NewPKI(t.TempDir(), "other")
	if err != nil {
		t.Fatal(err)
	}
	srvCert, srvKey, err := pki.Issue("broker", true)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Launch(dir, Options{TLS: &TLS{CAFile: pki.CAFile, CertFile: srvCert, KeyFile: srvKey}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Stop)
	if got := b.URL(); got != "ssl://"+b.Addr() {
		t.Errorf("URL = %s, want ssl://%s", got, b.Addr())
	}
	goodCert, goodKey, _ := pki.Issue("kiosk-1", false)
	strangerCert, strangerKey, _ := other.Issue("kiosk-1", false)
	tests := []struct {
		name            string
		ca, cert, key   string
		wantConnectedOK bool
	}{
		{"client cert from the CA", pki.CAFile, goodCert, goodKey, true},
		{"no client cert", pki.CAFile, "", "", false},
		{"client cert from another CA", pki.CAFile, strangerCert, strangerKey, false},
		{"broker not trusted", other.CAFile, goodCert, goodKey, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tc, err := ClientTLS(tt.ca, tt.cert, tt.key)
			if err != nil {
				t.Fatal(err)
			}
			c, err := ConnectTLS(t, b.URL(), tc)
			if got := err == nil; got != tt.wantConnectedOK {
				t.Fatalf("connected = %v (%v), want %v", got, err, tt.wantConnectedOK)
			}
			if c == nil {
				return
			}
			ch, code := c.TrySubscribe("t/1")
			if code > 2 {
				t.Fatalf("SUBACK %#x, want granted", code)
			}
			c.Publish("t/1", []byte("hi"), false)
			if m := Next(t, ch, 5*time.Second); string(m.Payload) != "hi" {
				t.Errorf("got %q, want hi", m.Payload)
			}
		})
	}
}
