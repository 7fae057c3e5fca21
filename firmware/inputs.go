package firmware

import (
	"context"
	"fmt"
	"time"

	"kioskd/devices"
	"kioskd/kiosk"
)

// runInput runs one button or switch. An input that cannot be read is
// reported through health (the alarm path is broken) and retried: a loose
// connector must not stop the other buttons, nor be forgotten.
func (d *Daemon) runInput(ctx context.Context, in devices.Input, out chan<- devices.InputEvent) {
	for ctx.Err() == nil {
		err := in.Run(ctx, out)
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			err = fmt.Errorf("stopped by itself")
		}
		d.health.setInput(in.Name(), err)
		d.log.Error("input failed; retrying", "input", in.Name(), "err", err)
		sleep(ctx, 2*time.Second)
	}
}

// runIndicator keeps a light going; a light that fails is logged and retried,
// never a reason to stop the alarm path.
func (d *Daemon) runIndicator(ctx context.Context, ind devices.Indicator) {
	for ctx.Err() == nil {
		if err := ind.Run(ctx); err != nil && ctx.Err() == nil {
			d.log.Error("indicator failed; retrying", "indicator", ind.Name(), "err", err)
		}
		sleep(ctx, 2*time.Second)
	}
}

// forwardInputs turns device events into controller inputs, in order. A
// press that cannot be journaled is retried until it is: it is never dropped.
func (d *Daemon) forwardInputs(ctx context.Context, ctrl *kiosk.Controller, events <-chan devices.InputEvent) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev := <-events:
			d.health.setInput(ev.Input, nil)
			in, ok := d.controllerInput(ev)
			if !ok {
				continue
			}
			for wait := 100 * time.Millisecond; ctx.Err() == nil; wait = min(wait*2, 5*time.Second) {
				_, err := ctrl.Submit(ctx, in)
				if err == nil || ctx.Err() != nil {
					break
				}
				d.log.Error("input not journaled; retrying", "input", ev.Input, "kind", ev.Kind, "err", err)
				sleep(ctx, wait)
			}
		}
	}
}

// controllerInput maps a device event to what it means for the incidents.
func (d *Daemon) controllerInput(ev devices.InputEvent) (kiosk.Input, bool) {
	source := "button:" + ev.Input
	switch ev.Kind {
	case devices.Pressed:
		if req, ok := d.devices.Requests[ev.Input]; ok {
			return kiosk.Press{Request: req, Source: source}, true
		}
	case devices.LongPressed:
		if req, ok := d.devices.Requests[ev.Input]; ok {
			return kiosk.LongPress{Request: req, Source: source}, true
		}
	case devices.Stuck:
		return kiosk.RaiseFault{Key: "stuck:" + ev.Input, Detail: fmt.Sprintf("button %s held for %s; ignored until released", ev.Input, ev.Held.Round(time.Second))}, true
	case devices.Unstuck:
		return kiosk.ClearFault{Key: "stuck:" + ev.Input}, true
	case devices.TamperOpened:
		return kiosk.TamperOpened{}, true
	case devices.TamperClosed:
		return kiosk.TamperClosed{}, true
	}
	d.log.Warn("device event with no meaning here", "input", ev.Input, "kind", ev.Kind)
	return nil, false
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
