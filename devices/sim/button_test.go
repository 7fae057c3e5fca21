package sim

import (
	"context"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"kioskd/devices"
)

// running is a simulated input running inside a synctest bubble.
type running struct {
	out    chan devices.InputEvent
	cancel context.CancelFunc
	done   chan error
}

func start(t *testing.T, in devices.Input) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	r := &running{out: make(chan devices.InputEvent, 16), cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- in.Run(ctx, r.out) }()
	return r
}

// after lets d of fake time pass and returns the kinds of the events sent.
func (r *running) after(d time.Duration) []devices.InputKind {
	time.Sleep(d)
	synctest.Wait()
	var ks []devices.InputKind
	for {
		select {
		case ev := <-r.out:
			ks = append(ks, ev.Kind)
		default:
			return ks
		}
	}
}

func (r *running) stop(t *testing.T) {
	t.Helper()
	r.cancel()
	if err := <-r.done; err != nil {
		t.Errorf("Run after cancel: got %v, want nil", err)
	}
}

func TestButton(t *testing.T) {
	type phase struct {
		do   func(*Button)
		wait time.Duration
		want []devices.InputKind
	}
	press := func(hold time.Duration) func(*Button) { return func(b *Button) { b.Press(hold) } }
	nothing := func(*Button) {}
	tests := []struct {
		name   string
		phases []phase
	}{
		{"short press", []phase{
			{press(100 * time.Millisecond), 50 * time.Millisecond, []devices.InputKind{devices.Pressed}},
			{nothing, time.Minute, nil},
		}},
		{"3 s hold is pressed at once, then long-pressed", []phase{
			{press(3 * time.Second), 50 * time.Millisecond, []devices.InputKind{devices.Pressed}},
			{nothing, 3 * time.Second, []devices.InputKind{devices.LongPressed}},
			{nothing, time.Minute, nil},
		}},
		{"a tap shorter than debounce is nothing", []phase{
			{press(10 * time.Millisecond), time.Second, nil},
		}},
		{"held for ever is stuck once, then unstuck", []phase{
			{(*Button).Down, 31 * time.Second, []devices.InputKind{devices.Pressed, devices.LongPressed, devices.Stuck}},
			{nothing, 10 * time.Minute, nil},
			{(*Button).Up, time.Second, []devices.InputKind{devices.Unstuck}},
			{press(100 * time.Millisecond), time.Second, []devices.InputKind{devices.Pressed}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				b := NewButton("police", devices.PressConfig{})
				r := start(t, b)
				for i, p := range tt.phases {
					p.do(b)
					if got := r.after(p.wait); !slices.Equal(got, p.want) {
						t.Errorf("phase %d: got %v, want %v", i, got, p.want)
					}
				}
				r.stop(t)
			})
		})
	}
}

// Presses made while Run is not running are still reported, with their own
// timing: two taps are two presses, not one long one.
func TestButtonPressesBeforeRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := NewButton("police", devices.PressConfig{})
		b.Press(100 * time.Millisecond)
		time.Sleep(200 * time.Millisecond)
		b.Press(100 * time.Millisecond)
		r := start(t, b)
		got := r.after(time.Second)
		r.stop(t)
		if want := []devices.InputKind{devices.Pressed, devices.Pressed}; !slices.Equal(got, want) {
			t.Errorf("got %v, want %v", got, want)
		}
	})
}

func TestTamper(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tp := NewTamper("tamper")
		tp.Open() // before Run: reported once Run starts
		r := start(t, tp)
		if got, want := r.after(0), []devices.InputKind{devices.TamperOpened}; !slices.Equal(got, want) {
			t.Errorf("got %v, want %v", got, want)
		}
		tp.Open()
		tp.Close()
		tp.Close()
		if got, want := r.after(0), []devices.InputKind{devices.TamperClosed}; !slices.Equal(got, want) {
			t.Errorf("got %v, want %v", got, want)
		}
		r.stop(t)
	})
}

func TestIndicator(t *testing.T) {
	in := NewIndicator("led")
	if got, want := in.Pattern(), devices.PatternIdle; got != want {
		t.Errorf("initial pattern: got %v, want %v", got, want)
	}
	for _, p := range []devices.Pattern{devices.PatternRegistered, devices.PatternRegistered, devices.PatternDelivered, devices.PatternAccepted} {
		in.Show(p)
	}
	if got, want := in.Pattern(), devices.PatternAccepted; got != want {
		t.Errorf("pattern: got %v, want %v", got, want)
	}
	want := []devices.Pattern{devices.PatternRegistered, devices.PatternDelivered, devices.PatternAccepted}
	if got := in.History(); !slices.Equal(got, want) {
		t.Errorf("history: got %v, want %v", got, want)
	}
}
