package devices

import (
	"reflect"
	"testing"
	"time"
)

var t0 = time.Date(2025, 1, 1, 8, 0, 0, 0, time.UTC)

// step is one input to a detector: a level sample, or a tick when level is nil.
type step struct {
	at    time.Duration
	level *bool
}

var (
	down = func(at time.Duration) step { v := true; return step{at, &v} }
	up   = func(at time.Duration) step { v := false; return step{at, &v} }
	tick = func(at time.Duration) step { return step{at: at} }
)

// want is an expected event: its kind, when it fires and how long it was held.
type want struct {
	kind InputKind
	at   time.Duration
	held time.Duration
}

func TestPressDetector(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name  string
		steps []step
		want  []want
	}{
		{"starts released, nothing happens",
			[]step{up(0), tick(time.Minute)}, nil},
		{"press fires after debounce without release",
			[]step{down(0), tick(29 * ms), tick(30 * ms)},
			[]want{{Pressed, 30 * ms, 30 * ms}}},
		{"press seen only by polling",
			[]step{down(0), down(10 * ms), down(20 * ms), down(30 * ms)},
			[]want{{Pressed, 30 * ms, 30 * ms}}},
		{"press seen first at its release, with no tick between",
			[]step{down(0), up(100 * ms), tick(time.Second)},
			[]want{{Pressed, 100 * ms, 100 * ms}}},
		{"bounce shorter than debounce is nothing",
			[]step{down(0), up(10 * ms), tick(time.Second)}, nil},
		{"bouncy contact counts from the last bounce",
			[]step{down(0), up(5 * ms), down(10 * ms), tick(39 * ms), tick(40 * ms)},
			[]want{{Pressed, 40 * ms, 30 * ms}}},
		{"release shorter than debounce is not a second press",
			[]step{down(0), tick(30 * ms), up(100 * ms), down(110 * ms), tick(time.Second)},
			[]want{{Pressed, 30 * ms, 30 * ms}}},
		{"two real presses",
			[]step{down(0), tick(30 * ms), up(100 * ms), tick(130 * ms), down(400 * ms), tick(430 * ms)},
			[]want{{Pressed, 30 * ms, 30 * ms}, {Pressed, 430 * ms, 30 * ms}}},
		{"long press fires once while held",
			[]step{down(0), tick(30 * ms), tick(2999 * ms), tick(3 * time.Second), tick(4 * time.Second), up(5 * time.Second), tick(6 * time.Second)},
			[]want{{Pressed, 30 * ms, 30 * ms}, {LongPressed, 3 * time.Second, 3 * time.Second}}},
		{"stuck fires once, then the button is ignored until released",
			[]step{
				down(0), tick(30 * ms), tick(3 * time.Second), tick(30 * time.Second),
				down(31 * time.Second), tick(60 * time.Second),
				up(61 * time.Second), down(61*time.Second + 10*ms), tick(62 * time.Second),
				up(70 * time.Second), tick(70*time.Second + 29*ms), tick(70*time.Second + 30*ms),
				down(71 * time.Second), tick(71*time.Second + 30*ms),
			},
			[]want{
				{Pressed, 30 * ms, 30 * ms},
				{LongPressed, 3 * time.Second, 3 * time.Second},
				{Stuck, 30 * time.Second, 30 * time.Second},
				{Unstuck, 70*time.Second + 30*ms, 70 * time.Second},
				{Pressed, 71*time.Second + 30*ms, 30 * ms},
			}},
		{"a late tick reports everything it missed, in order",
			[]step{down(0), tick(40 * time.Second)},
			[]want{
				{Pressed, 40 * time.Second, 40 * time.Second},
				{LongPressed, 40 * time.Second, 40 * time.Second},
				{Stuck, 40 * time.Second, 40 * time.Second},
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := NewPressDetector("police", PressConfig{})
			got := run(d.Sample, d.Tick, tt.steps)
			if w := expand("police", tt.want); !reflect.DeepEqual(got, w) {
				t.Errorf("got %v, want %v", got, w)
			}
		})
	}
}

func TestPressConfigWithDefaults(t *testing.T) {
	tests := []struct {
		in, want PressConfig
	}{
		{PressConfig{}, PressConfig{DefaultDebounce, DefaultLongPress, DefaultStuckAfter}},
		{PressConfig{Debounce: -1}, PressConfig{DefaultDebounce, DefaultLongPress, DefaultStuckAfter}},
		{PressConfig{5, 6, 7}, PressConfig{5, 6, 7}},
	}
	for _, tt := range tests {
		if got := tt.in.WithDefaults(); got != tt.want {
			t.Errorf("%+v.WithDefaults() = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

// run feeds steps to a detector and collects what it emits.
func run(sample func(bool, time.Time) []InputEvent, tick func(time.Time) []InputEvent, steps []step) []InputEvent {
	var got []InputEvent
	for _, s := range steps {
		if s.level == nil {
			got = append(got, tick(t0.Add(s.at))...)
		} else {
			got = append(got, sample(*s.level, t0.Add(s.at))...)
		}
	}
	return got
}

func expand(name string, ws []want) []InputEvent {
	var evs []InputEvent
	for _, w := range ws {
		evs = append(evs, InputEvent{Input: name, Kind: w.kind, At: t0.Add(w.at), Held: w.held})
	}
	return evs
}
