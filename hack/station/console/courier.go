package console

import (
	"context"
	"fmt"
	"sync"
	"time"

	"kioskd/cloudlink/contract"
)

// Commands go to each kiosk one at a time, as doc.md asks of a platform: a
// kiosk's courier publishes a command, waits for its reply, and only then
// sends the next. A command that gets no reply within ResendAfter is sent
// again, the same signed message (a kiosk that applied the first copy
// answers the copy with the first reply and never applies it twice), at
// most sendTries times; then the courier gives up on it (its outcome shows
// no_reply) and goes on. Kiosks are served in parallel, one courier each.

const (
	// courierQueue bounds the commands waiting for one kiosk; beyond it a
	// command is recorded with a send error and not sent.
	courierQueue = 64
	// sendTries × ResendAfter is replyWait: by the time a command shows
	// no_reply, it was sent sendTries times.
	sendTries = 3
	// busyPause is the wait before sending a command the kiosk answered busy.
	busyPause = time.Second
)

// outgoing is a signed command waiting for its courier.
type outgoing struct {
	id, kiosk, topic string
	msg              []byte
}

// couriers are the per-kiosk senders of one running console.
type couriers struct {
	mu      sync.Mutex
	ctx     context.Context // Run's; nil while the console is not running
	wg      sync.WaitGroup
	queues  map[string]chan outgoing       // kiosk → its courier's queue
	waiting map[string]chan contract.Reply // command id → its courier, while it waits
}

// open lets commands be sent until ctx is done; close waits for the
// couriers to stop.
func (p *couriers) open(ctx context.Context) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ctx = ctx
	p.queues = map[string]chan outgoing{}
	p.waiting = map[string]chan contract.Reply{}
}

func (p *couriers) close() {
	p.mu.Lock()
	p.ctx = nil
	p.mu.Unlock()
	p.wg.Wait()
}

// enqueue hands o to its kiosk's courier, starting one if needed.
func (c *Console) enqueue(o outgoing) error {
	p := &c.post
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ctx == nil || p.ctx.Err() != nil {
		return fmt.Errorf("send to %s: the station is not running", o.kiosk)
	}
	q := p.queues[o.kiosk]
	if q == nil {
		q = make(chan outgoing, courierQueue)
		p.queues[o.kiosk] = q
		ctx := p.ctx
		p.wg.Go(func() { c.courier(ctx, q) })
	}
	select {
	case q <- o:
		return nil
	default:
		return fmt.Errorf("send to %s: %d commands already wait for it", o.kiosk, courierQueue)
	}
}

// courier sends one kiosk's commands, one at a time, until ctx is done.
func (c *Console) courier(ctx context.Context, q <-chan outgoing) {
	for {
		select {
		case <-ctx.Done():
			return
		case o := <-q:
			c.deliver(ctx, o)
		}
	}
}

// deliver publishes o until it is answered (other than busy), at most
// sendTries times, ResendAfter apart.
func (c *Console) deliver(ctx context.Context, o outgoing) {
	replies := c.post.await(o.id)
	defer c.post.forget(o.id)
	var lastErr error
	for try := 1; try <= sendTries; try++ {
		if try > 1 {
			c.log.Info("station: sending a command again", "kiosk", o.kiosk, "command", o.id, "try", try, "last_error", lastErr)
		}
		if lastErr = c.publish(o.topic, o.msg); lastErr == nil {
			lastErr = fmt.Errorf("no reply within %v", c.cfg.ResendAfter)
		}
		t := time.NewTimer(c.cfg.ResendAfter)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case r := <-replies:
			t.Stop()
			if r.Error == nil || r.Error.Code != contract.ErrBusy {
				return
			}
			lastErr = fmt.Errorf("kiosk busy")
			pause(ctx, busyPause)
		case <-t.C:
		}
	}
	c.log.Warn("station: command unanswered; giving up on it", "kiosk", o.kiosk, "command", o.id, "tries", sendTries, "err", lastErr)
}

func pause(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// await registers a waiter for the reply to command id.
func (p *couriers) await(id string) <-chan contract.Reply {
	ch := make(chan contract.Reply, 1)
	p.mu.Lock()
	p.waiting[id] = ch
	p.mu.Unlock()
	return ch
}

func (p *couriers) forget(id string) {
	p.mu.Lock()
	delete(p.waiting, id)
	p.mu.Unlock()
}

// replied tells the courier waiting for r's command, if any, that it came.
// It never blocks: the courier reads at most one reply per send.
func (p *couriers) replied(r contract.Reply) {
	p.mu.Lock()
	ch := p.waiting[r.Command]
	p.mu.Unlock()
	if ch == nil {
		return
	}
	select {
	case ch <- r:
	default:
	}
}
