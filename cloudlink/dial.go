package cloudlink

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/url"
	"sync"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// dialer opens the session's network connection itself, so that a session that
// fails can drop it without an MQTT DISCONNECT: the broker then publishes our
// will ("offline") instead of keeping a stale "online". paho's Disconnect would
// send DISCONNECT, which tells the broker to discard the will.
type dialer struct {
	timeout time.Duration

	mu      sync.Mutex
	conn    net.Conn
	aborted bool
}

// open is paho's OpenConnectionFunc. It understands the schemes paho does for
// plain and TLS TCP; websockets and unix sockets are not offered.
func (d *dialer) open(uri *url.URL, opts mqtt.ClientOptions) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), d.timeout)
	defer cancel()
	nd := &net.Dialer{KeepAlive: 30 * time.Second}
	var conn net.Conn
	var err error
	switch uri.Scheme {
	case "tcp", "mqtt":
		conn, err = nd.DialContext(ctx, "tcp", uri.Host)
	case "ssl", "tls", "mqtts", "mqtt+ssl", "tcps":
		td := &tls.Dialer{NetDialer: nd, Config: opts.TLSConfig}
		conn, err = td.DialContext(ctx, "tcp", uri.Host)
	default:
		return nil, fmt.Errorf("broker scheme %q: use tcp:// or tls://", uri.Scheme)
	}
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.aborted {
		_ = conn.Close()
		return nil, fmt.Errorf("session aborted")
	}
	d.conn = conn
	return conn, nil
}

// abort closes the connection, if any, as a network failure would.
func (d *dialer) abort() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.aborted = true
	if d.conn != nil {
		_ = d.conn.Close()
	}
}
