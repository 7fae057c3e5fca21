package brokertest

import (
	"net"
	"testing"
	"time"
)

func TestPublishSubscribeAcrossRestart(t *testing.T) {
	m := Start(t)
	if got, want := m.URL(), "tcp://"+m.Addr(); got != want {
		t.Errorf("URL: got %q, want %q", got, want)
	}
	c := Connect(t, m.URL())
	ch := c.Subscribe("t/1")
	c.Publish("t/1", []byte("hello"), false)
	if got := Next(t, ch, 5*time.Second); string(got.Payload) != "hello" || got.Topic != "t/1" {
		t.Errorf("got %q on %q, want hello on t/1", got.Payload, got.Topic)
	}

	m.Kill()
	if c, err := net.DialTimeout("tcp", m.Addr(), time.Second); err == nil {
		c.Close()
		t.Fatalf("dial after Kill: got a connection, want refused")
	}
	m.Restart()
	c = Connect(t, m.URL())
	c.Publish("t/2", []byte("kept"), true)
	late := Connect(t, m.URL()).Subscribe("t/2")
	if got := Next(t, late, 5*time.Second); !got.Retained {
		t.Errorf("retained message for a late subscriber: got Retained false, want true")
	}
}

func TestProxyCutAndStall(t *testing.T) {
	m := Start(t)
	p := StartProxy(t, m.Addr())
	sub := Connect(t, m.URL()).Subscribe("p/1")
	pub := Connect(t, p.URL())
	pub.Publish("p/1", []byte("through the proxy"), false)
	Next(t, sub, 5*time.Second)

	p.Stall()
	go pub.c.Publish("p/1", 1, false, []byte("held")) // its PUBACK cannot come back yet
	select {
	case got := <-sub:
		t.Fatalf("while stalled: got %q, want nothing", got.Payload)
	case <-time.After(300 * time.Millisecond):
	}
	p.Resume()
	if got := Next(t, sub, 5*time.Second); string(got.Payload) != "held" {
		t.Errorf("after resume: got %q, want held", got.Payload)
	}

	p.Cut()
	deadline := time.Now().Add(5 * time.Second)
	for pub.c.IsConnectionOpen() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if pub.c.IsConnectionOpen() {
		t.Errorf("client through a cut proxy: got connected, want disconnected")
	}
}
