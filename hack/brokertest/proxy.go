package brokertest

import (
	"fmt"
	"maps"
	"net"
	"slices"
	"sync"
	"testing"
	"time"
)

// Proxy forwards TCP connections from a port of 127.0.0.1 to a target and
// breaks the network between them on demand:
//
//   - Cut closes every connection the way a dead link does (no MQTT
//     DISCONNECT, so the broker fires the client's will); Reset does the
//     same with a TCP RST.
//   - Stall freezes all traffic, of open and new connections, until Resume;
//     nothing is lost.
//   - Blackhole swallows the connections open at that moment, as a NAT that
//     forgot them would: what either end sends is thrown away and neither end
//     is told. New connections flow.
//   - Shape adds latency and limits throughput.
type Proxy struct {
	target string
	ln     net.Listener
	wg     sync.WaitGroup

	mu     sync.Mutex
	links  map[*link]struct{}
	gate   chan struct{} // closed while traffic flows (not stalled)
	delay  time.Duration // added to every chunk, each way
	rate   int           // bytes per second each way; 0 is unlimited
	closed bool
}

// link is one proxied connection.
type link struct {
	client, server net.Conn
	done           chan struct{}
	once           sync.Once

	mu     sync.Mutex
	frozen bool      // black-holed
	gone   time.Time // when the client closed a frozen link
}

// chunk is bytes read at a moment, to be written delay later.
type chunk struct {
	b  []byte
	at time.Time
}

// OpenProxy listens on a free port of 127.0.0.1 and forwards to target
// (host:port) until Close.
func OpenProxy(target string) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("brokertest: proxy listen: %w", err)
	}
	open := make(chan struct{})
	close(open)
	p := &Proxy{target: target, ln: ln, links: map[*link]struct{}{}, gate: open}
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

// StartProxy is OpenProxy for a test: it fails the test on error and closes
// the proxy when the test ends.
func StartProxy(t testing.TB, target string) *Proxy {
	t.Helper()
	p, err := OpenProxy(target)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// Addr is host:port of the proxy's listener.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// URL is the proxy's address as paho wants it.
func (p *Proxy) URL() string { return "tcp://" + p.Addr() }

// Cut closes every open connection on both sides. New connections are still
// accepted.
func (p *Proxy) Cut() {
	for _, l := range p.snapshot() {
		l.close()
	}
}

// Reset closes every open connection on both sides with a TCP RST.
func (p *Proxy) Reset() {
	for _, l := range p.snapshot() {
		for _, c := range []net.Conn{l.client, l.server} {
			if tc, ok := c.(*net.TCPConn); ok {
				_ = tc.SetLinger(0)
			}
		}
		l.close()
	}
}

// Stall stops forwarding in both directions; connections stay open and new
// ones are accepted but stall too. A connection closed by either side while
// stalled is noticed only after Resume.
func (p *Proxy) Stall() {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.gate:
		p.gate = make(chan struct{})
	default: // already stalled
	}
}

// Resume forwards again after Stall. Black-holed connections stay swallowed.
func (p *Proxy) Resume() {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.gate:
	default:
		close(p.gate)
	}
}

// Blackhole freezes every open connection: what either end sends is read
// and thrown away, nothing is delivered, and neither end is told.
// Connections made later flow.
func (p *Proxy) Blackhole() {
	for _, l := range p.snapshot() {
		l.mu.Lock()
		l.frozen = true
		l.mu.Unlock()
	}
}

// BlackholeNoticed returns when the client first closed a black-holed
// connection: when it noticed that nothing came back.
func (p *Proxy) BlackholeNoticed() (time.Time, bool) {
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

// ClearBlackhole closes the black-holed connections, which the ends may have
// given up on.
func (p *Proxy) ClearBlackhole() {
	for _, l := range p.snapshot() {
		if l.isFrozen() {
			l.close()
			p.mu.Lock()
			delete(p.links, l)
			p.mu.Unlock()
		}
	}
}

// Shape sets the latency added to every chunk each way and the throughput
// limit each way in bytes per second; zero means none.
func (p *Proxy) Shape(delay time.Duration, bytesPerSec int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.delay, p.rate = delay, bytesPerSec
}

// Close stops accepting, closes every connection and waits for the
// forwarding goroutines. Calling it again does nothing.
func (p *Proxy) Close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	p.mu.Unlock()
	_ = p.ln.Close()
	p.Cut()
	p.wg.Wait()
}

func (p *Proxy) snapshot() []*link {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Collect(maps.Keys(p.links))
}

func (p *Proxy) accept() {
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
		if !p.track(l) {
			return
		}
		p.wg.Add(2)
		go p.forward(l, server, client)
		go p.forward(l, client, server)
	}
}

// track adds l to the open links; false, with l closed, once the proxy is.
func (p *Proxy) track(l *link) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		l.close()
		return false
	}
	p.links[l] = struct{}{}
	return true
}

// forward copies src to dst through a queue, so latency does not cut
// throughput, until either end fails or the link is closed.
func (p *Proxy) forward(l *link, dst, src net.Conn) {
	defer p.wg.Done()
	defer p.forget(l)
	queue := make(chan chunk, 256)
	p.wg.Add(1)
	go p.read(l, src, queue)
	for c := range queue {
		if !p.write(l, dst, c) {
			return
		}
	}
}

// read reads src into queue while the proxy is not stalled, until src fails
// or the link closes. On a black-holed link it throws what it reads away.
func (p *Proxy) read(l *link, src net.Conn, queue chan<- chunk) {
	defer p.wg.Done()
	defer close(queue)
	buf := make([]byte, 32<<10)
	for p.waitOpen(l) {
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
			return // io.EOF or closed
		}
	}
}

// write writes one chunk once the proxy is not stalled and the chunk's delay
// has passed, at most rate bytes per second.
func (p *Proxy) write(l *link, dst net.Conn, c chunk) bool {
	if !p.waitOpen(l) {
		return false
	}
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

// waitOpen waits while the proxy is stalled; false if l closed meanwhile.
func (p *Proxy) waitOpen(l *link) bool {
	p.mu.Lock()
	gate := p.gate
	p.mu.Unlock()
	select {
	case <-gate:
		return true
	case <-l.done:
		return false
	}
}

func (p *Proxy) forget(l *link) {
	if l.isFrozen() {
		return // kept until ClearBlackhole: its ends must not hear of it
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
