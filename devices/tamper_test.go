package devices

import (
	"reflect"
	"testing"
	"time"
)

func TestTamperDetector(t *testing.T) {
	ms := time.Millisecond
	open, closed := down, up
	tests := []struct {
		name  string
		steps []step
		want  []want
	}{
		{"starts closed, nothing happens",
			[]step{closed(0), tick(time.Minute)}, nil},
		{"starts open",
			[]step{open(0), tick(29 * ms), tick(30 * ms), tick(time.Second)},
			[]want{{TamperOpened, 30 * ms, 0}}},
		{"opened then closed",
			[]step{closed(0), tick(30 * ms), open(time.Second), tick(time.Second + 30*ms), closed(2 * time.Second), closed(2*time.Second + 30*ms)},
			[]want{{TamperOpened, time.Second + 30*ms, 0}, {TamperClosed, 2*time.Second + 30*ms, 0}}},
		{"opening seen first at its closing, with no tick between",
			[]step{closed(0), open(time.Second), closed(2 * time.Second), tick(3 * time.Second)},
			[]want{{TamperOpened, 2 * time.Second, 0}, {TamperClosed, 3 * time.Second, 0}}},
		{"a bounce is nothing",
			[]step{closed(0), tick(30 * ms), open(time.Second), closed(time.Second + 10*ms), tick(2 * time.Second)}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := NewTamperDetector("tamper", 0)
			got := run(d.Sample, d.Tick, tt.steps)
			if w := expand("tamper", tt.want); !reflect.DeepEqual(got, w) {
				t.Errorf("got %v, want %v", got, w)
			}
		})
	}
}
