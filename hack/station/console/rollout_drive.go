package console

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"

	"kioskd/cloudlink/contract"
)

// bucketRollouts holds every rollout: id → Rollout, JSON.
var bucketRollouts = []byte("rollouts")

// maxRollouts bounds the rollouts held in memory; older finished ones stay
// in the store only.
const maxRollouts = 50

// Errors of StartRollout, ContinueRollout and StopRollout.
var (
	ErrBadRollout   = errors.New("bad rollout")
	ErrNoRollout    = errors.New("no such rollout")
	ErrRolloutState = errors.New("the rollout is not in a state that allows it")
)

// loadRollouts reads the stored rollouts; running ones carry on.
func (c *Console) loadRollouts() error {
	c.rollouts, c.rolloutPoke = map[string]*Rollout{}, make(chan struct{}, 1)
	err := c.store.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketRollouts).ForEach(func(k, v []byte) error {
			var r Rollout
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("station: stored rollout %s: %w", k, err)
			}
			c.rollouts[r.ID] = &r
			return nil
		})
	})
	c.pruneRollouts()
	return err
}

// pruneRollouts drops the oldest finished rollouts from memory beyond
// maxRollouts; c.mu must be held (or c not yet shared).
func (c *Console) pruneRollouts() {
	for len(c.rollouts) > maxRollouts {
		var oldest *Rollout
		for _, r := range c.rollouts {
			if (r.State == RolloutDone || r.State == RolloutStopped) && (oldest == nil || r.StartedAt.Before(oldest.StartedAt)) {
				oldest = r
			}
		}
		if oldest == nil {
			return
		}
		delete(c.rollouts, oldest.ID)
	}
}

// StartRollout checks and stores a rollout, then starts its first wave.
// A request that does not make sense is an ErrBadRollout.
func (c *Console) StartRollout(req RolloutRequest) (RolloutView, error) {
	now := time.Now()
	c.mu.Lock()
	r, err := newRollout(req, c.knownKiosks(), now)
	c.mu.Unlock()
	if err != nil {
		return RolloutView{}, fmt.Errorf("%w: %v", ErrBadRollout, err)
	}
	b, err := json.Marshal(r)
	if err == nil {
		err = c.store.putRollouts(map[string][]byte{r.ID: b})
	}
	if err != nil {
		return RolloutView{}, fmt.Errorf("store rollout: %w", err)
	}
	r.dirty = false
	c.mu.Lock()
	c.rollouts[r.ID] = r
	c.pruneRollouts()
	v := c.rolloutView(r, now)
	c.mu.Unlock()
	c.log.Info("station: rollout started", "id", r.ID, "kind", r.Kind, "kiosks", len(r.Targets), "waves", r.Waves())
	c.pokeRollouts()
	c.changed()
	return v, nil
}

// ContinueRollout sends the next wave of a halted rollout, accepting the
// failures of the last one.
func (c *Console) ContinueRollout(id string) (RolloutView, error) {
	return c.changeRollout(id, RolloutHalted, func(r *Rollout) {
		r.State = RolloutRunning
		r.nextWave()
	})
}

// StopRollout stops a running or halted rollout: kiosks already sent to
// finish their part; the others are not sent to.
func (c *Console) StopRollout(id string) (RolloutView, error) {
	return c.changeRollout(id, "", func(r *Rollout) {
		r.State = RolloutStopped
		for i := range r.Targets {
			if t := &r.Targets[i]; t.Command == "" && t.Skipped == "" {
				t.Skipped = "stopped"
			}
		}
	})
}

// changeRollout applies change to a rollout in state from (any unfinished
// state if from is empty).
func (c *Console) changeRollout(id, from string, change func(*Rollout)) (RolloutView, error) {
	c.mu.Lock()
	r := c.rollouts[id]
	switch {
	case r == nil:
		c.mu.Unlock()
		return RolloutView{}, ErrNoRollout
	case r.State == from || (from == "" && (r.State == RolloutRunning || r.State == RolloutHalted)):
		change(r)
		r.dirty = true
	default:
		c.mu.Unlock()
		return RolloutView{}, fmt.Errorf("%w: it is %s", ErrRolloutState, r.State)
	}
	v := c.rolloutView(r, time.Now())
	c.mu.Unlock()
	c.pokeRollouts()
	return v, nil
}

func (r *Rollout) nextWave() {
	r.Wave++
	if r.Wave >= r.Waves() {
		r.State = RolloutDone
	}
}

// pokeRollouts wakes the rollout loop; it never blocks.
func (c *Console) pokeRollouts() {
	select {
	case c.rolloutPoke <- struct{}{}:
	default:
	}
}

// runRollouts drives the rollouts on every poke and every second (for
// replies that never come and deadlines), until ctx is done. While the
// broker is out of reach it sends nothing, rather than fail a whole wave
// (or miss the replies), and only stores what changed.
func (c *Console) runRollouts(ctx context.Context) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		if c.Connected() {
			c.driveRollouts()
		} else if c.storeRollouts() > 0 {
			c.changed()
		}
		select {
		case <-ctx.Done():
			return
		case <-c.rolloutPoke:
		case <-tick.C:
		}
	}
}

// order is one command a rollout sends.
type order struct {
	id, kiosk, name string
	args            any
}

// driveRollouts moves every running rollout on, sends what is due, and
// stores what changed.
func (c *Console) driveRollouts() {
	now := time.Now()
	var orders []order
	c.mu.Lock()
	for _, r := range c.rollouts {
		orders = append(orders, c.advance(r, now)...)
	}
	c.mu.Unlock()
	for _, o := range orders {
		if _, err := c.sendAs(o.id, o.kiosk, o.name, o.args); err != nil {
			c.log.Warn("station: rollout command not sent", "kiosk", o.kiosk, "command", o.name, "err", err)
		}
	}
	if c.storeRollouts() > 0 {
		c.changed()
	}
}

// advance starts the current wave of a running rollout, or, once every
// kiosk of it is settled, halts (a failure, with waves still to go), goes
// on to the next wave, or finishes. It returns the commands to send; c.mu
// must be held.
func (c *Console) advance(r *Rollout, now time.Time) []order {
	for r.State == RolloutRunning {
		if orders := c.startWave(r, now); len(orders) > 0 {
			return orders
		}
		settled, failed := c.waveSettled(r, now)
		if !settled {
			return nil
		}
		r.dirty = true
		if failed > 0 && r.Wave < r.Waves()-1 {
			r.State = RolloutHalted
			c.log.Warn("station: rollout halted", "id", r.ID, "wave", r.Wave+1, "failed", failed)
			return nil
		}
		r.nextWave()
	}
	return nil
}

// startWave picks the kiosks of the current wave not yet sent to: skips
// those offline or already at the release's version, and gives the others
// a command id. c.mu must be held.
func (c *Console) startWave(r *Rollout, now time.Time) []order {
	var orders []order
	for i := range r.Targets {
		t := &r.Targets[i]
		if t.Wave != r.Wave || t.Command != "" || t.Skipped != "" {
			continue
		}
		r.dirty = true
		if t.Skipped = c.skipReason(r, t.Kiosk); t.Skipped != "" {
			continue
		}
		t.Command, t.SentAt = newCommandID(), now
		var args any = contract.SelfTestArgs{Reason: r.Reason}
		if r.Kind == contract.CmdUpdate {
			args = *r.Release
		}
		orders = append(orders, order{id: t.Command, kiosk: t.Kiosk, name: r.Kind, args: args})
	}
	return orders
}

// skipReason says why a kiosk is not sent to: its retained status says it
// is offline, or its heartbeat reports the release's version already.
func (c *Console) skipReason(r *Rollout, kiosk string) string {
	k := c.fleet[kiosk]
	switch {
	case k == nil:
		return ""
	case k.status != nil && (k.status.State == contract.Offline || k.status.State == contract.Stopped):
		return "offline"
	case r.Kind == contract.CmdUpdate && !r.Release.AllowDowngrade && k.heartbeat != nil && k.heartbeat.Version == r.Release.Version:
		return "up_to_date"
	}
	return ""
}

// waveSettled reports whether every kiosk of the current wave is settled,
// and how many of them failed (skipped ones do not count). c.mu must be held.
func (c *Console) waveSettled(r *Rollout, now time.Time) (bool, int) {
	failed := 0
	for _, t := range r.Targets {
		if t.Wave != r.Wave {
			continue
		}
		o := t.result(r.Kind, c.commands[t.Command], now)
		if !o.Settled {
			return false, 0
		}
		if !o.OK && o.Result != "skipped" {
			failed++
		}
	}
	return true, failed
}

// storeRollouts writes the changed rollouts in one transaction and
// returns how many.
func (c *Console) storeRollouts() int {
	batch := map[string][]byte{}
	c.mu.Lock()
	for id, r := range c.rollouts {
		if !r.dirty {
			continue
		}
		b, err := json.Marshal(r)
		if err != nil {
			c.log.Error("station: encode rollout", "id", id, "err", err)
			continue
		}
		batch[id], r.dirty = b, false
	}
	c.mu.Unlock()
	if len(batch) == 0 {
		return 0
	}
	if err := c.store.putRollouts(batch); err != nil {
		c.log.Error("station: rollouts not stored; retrying", "err", err)
		c.mu.Lock()
		for id := range batch {
			if r := c.rollouts[id]; r != nil {
				r.dirty = true
			}
		}
		c.mu.Unlock()
	}
	return len(batch)
}

// putRollouts stores rollouts, id → JSON, in one transaction.
func (s *Store) putRollouts(batch map[string][]byte) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketRollouts)
		for id, v := range batch {
			if err := b.Put([]byte(id), v); err != nil {
				return err
			}
		}
		return nil
	})
}

// sortedRollouts lists the rollouts newest first; c.mu must be held.
func (c *Console) sortedRollouts() []*Rollout {
	out := slices.Collect(maps.Values(c.rollouts))
	slices.SortFunc(out, func(a, b *Rollout) int { return cmp.Or(b.StartedAt.Compare(a.StartedAt), cmp.Compare(a.ID, b.ID)) })
	return out
}
