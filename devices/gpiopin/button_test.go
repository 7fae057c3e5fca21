package gpiopin

import (
	"context"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpiotest"

	"kioskd/devices"
)

// action changes a fake pin, then lets fake time pass.
type action struct {
	do   func(*gpiotest.Pin)
	then time.Duration
}

// edge drives the pin to l and reports the edge, as a driver would.
func edge(l gpio.Level) func(*gpiotest.Pin) {
	return func(p *gpiotest.Pin) { p.EdgesChan <- l }
}

// silent drives the pin to l and reports no edge: a missed interrupt.
func silent(l gpio.Level) func(*gpiotest.Pin) {
	return func(p *gpiotest.Pin) {
		p.Lock()
		p.L = l
		p.Unlock()
	}
}

// input is a running devices.Input on a fake pin, inside a synctest bubble.
type input struct {
	pin    *gpiotest.Pin
	out    chan devices.InputEvent
	cancel context.CancelFunc
	done   chan error
}

func start(t *testing.T, pin *gpiotest.Pin, in devices.Input) *input {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	r := &input{pin: pin, out: make(chan devices.InputEvent, 16), cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- in.Run(ctx, r.out) }()
	synctest.Wait() // Run has configured the pin and waits for an edge.
	return r
}

func (r *input) play(script []action) {
	for _, a := range script {
		a.do(r.pin)
		time.Sleep(a.then)
	}
	synctest.Wait()
}

// drain returns the events sent so far.
func (r *input) drain() []devices.InputEvent {
	var evs []devices.InputEvent
	for {
		select {
		case ev := <-r.out:
			evs = append(evs, ev)
		default:
			return evs
		}
	}
}

func (r *input) stop(t *testing.T) {
	t.Helper()
	r.cancel()
	if err := <-r.done; err != nil {
		t.Errorf("Run after cancel: got %v, want nil", err)
	}
}

func kinds(evs []devices.InputEvent) []devices.InputKind {
	var ks []devices.InputKind
	for _, ev := range evs {
		ks = append(ks, ev.Kind)
	}
	return ks
}

func TestButton(t *testing.T) {
	const press, release = gpio.Low, gpio.High // active low
	ms := time.Millisecond
	tests := []struct {
		name   string
		script []action
		want   []devices.InputKind
	}{
		{"press fires without release",
			[]action{{edge(press), 50 * ms}},
			[]devices.InputKind{devices.Pressed}},
		{"short press and release",
			[]action{{edge(press), 100 * ms}, {edge(release), time.Second}},
			[]devices.InputKind{devices.Pressed}},
		{"bounce shorter than debounce is nothing",
			[]action{{edge(press), 5 * ms}, {edge(release), time.Second}},
			nil},
		{"missed edge is caught by polling",
			[]action{{silent(press), 50 * ms}},
			[]devices.InputKind{devices.Pressed}},
		{"long press",
			[]action{{edge(press), 3100 * ms}, {edge(release), time.Second}},
			[]devices.InputKind{devices.Pressed, devices.LongPressed}},
		{"stuck fires once, then nothing for the rest of the hold",
			[]action{{edge(press), 31 * time.Second}, {silent(press), 5 * time.Minute}},
			[]devices.InputKind{devices.Pressed, devices.LongPressed, devices.Stuck}},
		{"stuck, released, pressed again",
			[]action{
				{edge(press), 2 * time.Minute},
				{edge(release), 5 * ms}, {edge(press), time.Second}, // a flicker is not a release
				{edge(release), 100 * ms},
				{edge(press), 100 * ms},
			},
			[]devices.InputKind{devices.Pressed, devices.LongPressed, devices.Stuck, devices.Unstuck, devices.Pressed}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				pin := &gpiotest.Pin{N: "GPIO17", EdgesChan: make(chan gpio.Level, 4)}
				r := start(t, pin, NewButton("police", pin, true, devices.PressConfig{}))
				r.play(tt.script)
				got := r.drain()
				r.stop(t)
				if !equalKinds(kinds(got), tt.want) {
					t.Errorf("got %v, want %v", kinds(got), tt.want)
				}
			})
		})
	}
}

func TestButtonPressIsPrompt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pin := &gpiotest.Pin{N: "GPIO17", EdgesChan: make(chan gpio.Level, 4)}
		r := start(t, pin, NewButton("police", pin, false, devices.PressConfig{}))
		begin := time.Now()
		r.play([]action{{edge(gpio.High), devices.DefaultDebounce + PollInterval}})
		got := r.drain()
		r.stop(t)
		if len(got) != 1 || got[0].Kind != devices.Pressed || got[0].Input != "police" {
			t.Fatalf("got %v, want one Pressed from police", got)
		}
		if lag := got[0].At.Sub(begin); lag > devices.DefaultDebounce+PollInterval {
			t.Errorf("got Pressed %v after press-down, want at most %v", lag, devices.DefaultDebounce+PollInterval)
		}
	})
}

func TestButtonConfigureFails(t *testing.T) {
	pin := &gpiotest.Pin{N: "GPIO17"} // no EdgesChan: In with edges fails
	err := NewButton("police", pin, true, devices.PressConfig{}).Run(t.Context(), make(chan devices.InputEvent))
	if err == nil || !strings.Contains(err.Error(), "police") {
		t.Errorf("got %v, want an error naming the button", err)
	}
}

func TestOpenPinUnknown(t *testing.T) {
	_, err := OpenPin("KIOSKD-NO-SUCH-PIN")
	if err == nil || !strings.Contains(err.Error(), "KIOSKD-NO-SUCH-PIN") {
		t.Errorf("got %v, want an error naming the pin", err)
	}
}

func equalKinds(a, b []devices.InputKind) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
