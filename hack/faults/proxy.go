package main

import (
	"fmt"
	"net"
	"sync"
	"time"
)

// proxy forwards TCP from a loopback port to the broker and misbehaves on
// demand: reset every connection, black-hole the open ones, add latency,
// throttle. Like hack/brokertest's Proxy, but with delay and throttle, and a
// black hole that swallows only the connections open when it starts, as a
// NAT that forgot them would; new connections get through.
type proxy struct {
	target string
	ln     net.Listener
	wg     sync.WaitGroup

	mu       sync.Mutex
	links    map[*link]struct{}
	delay    time.Duration // added to every chunk, each way
	rate     int           // bytes per second each way; 0 is unlimited
	accepted []time.Time   // when each connection came in
	closed   bool
}

// link is one proxied connection.
type link struct {
	client, server net.Conn
	done           chan struct{}
	once           sync.Once

	mu     sync.Mutex
	frozen bool
	gone   time.Time // when the client closed a frozen link
}

// chunk is bytes read at a moment, to be written delay later.
type chunk struct {
	b  []byte
	at time.Time
}

func startProxy(target string) (*proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("proxy listen: %w", err)
	}
	p := &proxy{target: target, ln: ln, links: map[*link]struct{}{}}
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

func (p *proxy) url() string { return "tcp://" + p.ln.Addr().String() }

// reset closes every connection with a TCP RST.
func (p *proxy) reset() {
	for _, l := range p.snapshot() {
		for _, c := range []net.Conn{l.client, l.server} {
			if tc, ok := c.(*net.TCPConn); ok {
				_ = tc.SetLinger(0)
			}
		}
		l.close()
	}
}

// blackhole freezes every open connection: what either end sends is read
// and thrown away, nothing is delivered, and neither end is told.
// Connections made later flow.
func (p *proxy) blackhole() {
	for _, l := range p.snapshot() {
		l.mu.Lock()
		l.frozen = true
		l.mu.Unlock()
	}
}

// blackholeNoticed returns when the client first closed a black-holed
// connection: when it noticed that nothing came back.
func (p *proxy) blackholeNoticed() (time.Time, bool) {
	var first time.Time
	for _, l := range p.snapshot() {
		l.mu.Lock()
		if l.frozen && !l.gone.IsZero() && (first.IsZero() || l.gone.Before(first)) {
			first = l.gone
		}
		l.mu.Unlock()
	}
	return first, !first.IsZero()
}

// clearBlackhole closes the frozen connections the ends have given up on.
func (p *proxy) clearBlackhole() {
	for _, l := range p.snapshot() {
		if l.isFrozen() {
			l.close()
			p.mu.Lock()
			delete(p.links, l)
			p.mu.Unlock()
		}
	}
}

// shape sets the added latency and the throughput limit (0: none).
func (p *proxy) shape(delay time.Duration, bytesPerSec int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.delay, p.rate = delay, bytesPerSec
}

// acceptedAfter returns when the first connection after t came in.
func (p *proxy) acceptedAfter(t time.Time) (time.Time, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, a := range p.accepted {
		if a.After(t) {
			return a, true
		}
	}
	return time.Time{}, false
}

func (p *proxy) close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	_ = p.ln.Close()
	for _, l := range p.snapshot() {
		l.close()
	}
	p.wg.Wait()
}

func (p *proxy) snapshot() []*link {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]*link, 0, len(p.links))
	for l := range p.links {
		out = append(out, l)
	}
	return out
}

func (p *proxy) accept() {
	defer p.wg.Done()
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return // listener closed
		}
		server, err := net.DialTimeout("tcp", p.target, 2*time.Second)
		if err != nil {
			_ = client.Close()
			continue
		}
		l := &link{client: client, server: server, done: make(chan struct{})}
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			l.close()
			return
		}
		p.links[l] = struct{}{}
		p.accepted = append(p.accepted, time.Now())
		p.mu.Unlock()
		p.wg.Add(2)
		go p.forward(l, server, client)
		go p.forward(l, client, server)
	}
}

// forward copies src to dst through a queue, so latency does not cut
// throughput, until either end fails or the link is closed.
func (p *proxy) forward(l *link, dst, src net.Conn) {
	defer p.wg.Done()
	defer p.forget(l)
	queue := make(chan chunk, 256)
	go func() {
		defer close(queue)
		buf := make([]byte, 32<<10)
		for {
			n, err := src.Read(buf)
			if l.isFrozen() {
				if err == nil {
					continue // swallowed: a black hole answers nothing
				}
				if src == l.client {
					l.markGone()
				}
				<-l.done
				return
			}
			if n > 0 {
				select {
				case queue <- chunk{append([]byte(nil), buf[:n]...), time.Now()}:
				case <-l.done:
					return
				}
			}
			if err != nil {
				return
			}
		}
	}()
	for c := range queue {
		if !p.write(l, dst, c) {
			return
		}
	}
}

// write writes one chunk after its delay, at most rate bytes per second.
func (p *proxy) write(l *link, dst net.Conn, c chunk) bool {
	p.mu.Lock()
	delay, rate := p.delay, p.rate
	p.mu.Unlock()
	if !l.sleep(time.Until(c.at.Add(delay))) || l.isFrozen() {
		return false
	}
	for b := c.b; len(b) > 0; {
		n := len(b)
		if rate > 0 {
			n = min(n, max(rate/20, 1))
		}
		if _, err := dst.Write(b[:n]); err != nil {
			return false
		}
		b = b[n:]
		if rate > 0 && !l.sleep(time.Duration(n)*time.Second/time.Duration(rate)) {
			return false
		}
	}
	return true
}

func (p *proxy) forget(l *link) {
	if l.isFrozen() {
		return // kept until clearBlackhole: its ends must not hear of it
	}
	l.close()
	p.mu.Lock()
	delete(p.links, l)
	p.mu.Unlock()
}

func (l *link) markGone() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.gone = time.Now()
}

func (l *link) isFrozen() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.frozen
}

// sleep waits d; false if the link closed meanwhile.
func (l *link) sleep(d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-l.done:
		return false
	}
}

func (l *link) close() {
	l.once.Do(func() {
		close(l.done)
		_ = l.client.Close()
		_ = l.server.Close()
	})
}
