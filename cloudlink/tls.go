package cloudlink

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
)

// TLSFiles names the PEM files of the link's TLS settings, used with a
// tls://, ssl:// or mqtts:// broker.
type TLSFiles struct {
	CAFile   string // the CA(s) the broker's certificate must chain to; empty: the system's roots
	CertFile string // this kiosk's client certificate (chain); empty: none presented
	KeyFile  string // its private key
}

// Load reads the files into a TLS config that verifies the broker against
// CAFile and presents the client certificate. It never skips verification.
func (f TLSFiles) Load() (*tls.Config, error) {
	c := &tls.Config{MinVersion: tls.VersionTLS12}
	if f.CAFile != "" {
		pem, err := os.ReadFile(f.CAFile)
		if err != nil {
			return nil, fmt.Errorf("broker CA: %w", err)
		}
		c.RootCAs = x509.NewCertPool()
		if !c.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("broker CA %s: no PEM certificate in it", f.CAFile)
		}
	}
	if f.CertFile == "" && f.KeyFile == "" {
		return c, nil
	}
	cert, err := tls.LoadX509KeyPair(f.CertFile, f.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("client certificate: %w", err)
	}
	c.Certificates = []tls.Certificate{cert}
	return c, nil
}

// ClientCN returns the common name of the client certificate, which brokers
// set up as in SECURITY.md take as the kiosk's identity.
func (f TLSFiles) ClientCN() (string, error) {
	if f.CertFile == "" {
		return "", errors.New("no client certificate configured")
	}
	cert, err := tls.LoadX509KeyPair(f.CertFile, f.KeyFile)
	if err != nil {
		return "", fmt.Errorf("client certificate: %w", err)
	}
	if cert.Leaf == nil { // set by LoadX509KeyPair since Go 1.23
		return "", errors.New("client certificate: not parsed")
	}
	return cert.Leaf.Subject.CommonName, nil
}
