package brokertest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// TLS makes the broker's listener TLS-only: it presents CertFile, requires
// a client certificate issued by CAFile and takes its CN as the username
// (use_identity_as_username) and the username as the client id
// (use_username_as_clientid), so that ACLFile's %u is the client's CN and
// no certificate can take another client's session.
type TLS struct {
	CAFile, CertFile, KeyFile string
	ACLFile                   string // mosquitto ACL file; empty: every identity may do everything
}

func tlsConfig(t *TLS) string {
	conf := fmt.Sprintf("cafile %s\ncertfile %s\nkeyfile %s\nrequire_certificate true\n"+
		"use_identity_as_username true\nuse_username_as_clientid true\n", t.CAFile, t.CertFile, t.KeyFile)
	if t.ACLFile != "" {
		conf += "acl_file " + t.ACLFile + "\n"
	}
	return conf
}

// PKI is a throwaway certificate authority for TLS tests. Its files are PEM,
// in its directory; keys are ECDSA P-256.
type PKI struct {
	dir    string
	cert   *x509.Certificate
	key    crypto.Signer
	CAFile string
}

// NewPKI creates a CA named name, writing name+"-ca.pem" into dir.
func NewPKI(dir, name string) (*PKI, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := template(name + " test CA")
	tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
	tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("create CA: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	p := &PKI{dir: dir, cert: cert, key: key, CAFile: filepath.Join(dir, name+"-ca.pem")}
	return p, writePEM(p.CAFile, "CERTIFICATE", der)
}

// Issue writes a certificate for cn signed by the CA, and its key, as
// cn.pem and cn-key.pem. A server certificate is valid for 127.0.0.1 and
// localhost; a client certificate for client authentication.
func (p *PKI) Issue(cn string, server bool) (certFile, keyFile string, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", "", err
	}
	tmpl := template(cn)
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	if server {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1)}
		tmpl.DNSNames = []string{"localhost"}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.cert, key.Public(), p.key)
	if err != nil {
		return "", "", fmt.Errorf("issue %s: %w", cn, err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", "", err
	}
	certFile, keyFile = filepath.Join(p.dir, cn+".pem"), filepath.Join(p.dir, cn+"-key.pem")
	if err := writePEM(certFile, "CERTIFICATE", der); err != nil {
		return "", "", err
	}
	return certFile, keyFile, writePEM(keyFile, "PRIVATE KEY", keyDER)
}

func template(cn string) *x509.Certificate {
	now := time.Now()
	sn, _ := rand.Int(rand.Reader, big.NewInt(1<<62)) // crypto/rand does not fail on Linux
	return &x509.Certificate{
		SerialNumber: sn.Add(sn, big.NewInt(1)),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
	}
}

func writePEM(path, typ string, der []byte) error {
	return os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600)
}

// ClientTLS is a TLS config that trusts caFile and presents certFile (if
// not empty), as a kiosk or the platform would.
func ClientTLS(caFile, certFile, keyFile string) (*tls.Config, error) {
	ca, err := os.ReadFile(caFile)
	if err != nil {
		return nil, err
	}
	c := &tls.Config{RootCAs: x509.NewCertPool(), MinVersion: tls.VersionTLS12}
	if !c.RootCAs.AppendCertsFromPEM(ca) {
		return nil, fmt.Errorf("%s: no certificate", caFile)
	}
	if certFile != "" {
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, err
		}
		c.Certificates = []tls.Certificate{cert}
	}
	return c, nil
}

// ConnectTLS is Connect over TLS. It returns the connect error instead of
// failing the test, for tests of who the broker refuses.
func ConnectTLS(t testing.TB, url string, tc *tls.Config) (*Client, error) {
	t.Helper()
	return ConnectTLSAs(t, url, tc, "brokertest-tls-"+strconv.FormatInt(clientSeq.Add(1), 10))
}

// ConnectTLSAs is ConnectTLS with the client id id, for tests of who may
// claim which id.
func ConnectTLSAs(t testing.TB, url string, tc *tls.Config, id string) (*Client, error) {
	t.Helper()
	opts := mqtt.NewClientOptions().AddBroker(url).SetClientID(id).SetTLSConfig(tc).
		SetCleanSession(true).SetAutoReconnect(false).SetConnectRetry(false).SetOrderMatters(true).
		SetConnectTimeout(opTimeout).SetWriteTimeout(opTimeout)
	c := mqtt.NewClient(opts)
	if err := mqtt.WaitTokenTimeout(c.Connect(), opTimeout); err != nil {
		c.Disconnect(0)
		return nil, err
	}
	t.Cleanup(func() { c.Disconnect(100) })
	return &Client{t: t, c: c}, nil
}

// TrySubscribe is Subscribe that also returns the broker's SUBACK code for
// the topic: 0 or 1 granted, 0x80 refused (an ACL that denies it).
func (c *Client) TrySubscribe(topic string) (<-chan Message, byte) {
	c.t.Helper()
	ch := make(chan Message, 100)
	tok := c.c.Subscribe(topic, 1, func(_ mqtt.Client, m mqtt.Message) {
		select {
		case ch <- Message{Topic: m.Topic(), Payload: m.Payload(), Retained: m.Retained()}:
		default:
		}
	})
	if err := mqtt.WaitTokenTimeout(tok, opTimeout); err != nil {
		c.t.Fatalf("brokertest: subscribe %s: %v", topic, err)
	}
	return ch, tok.(*mqtt.SubscribeToken).Result()[topic]
}
