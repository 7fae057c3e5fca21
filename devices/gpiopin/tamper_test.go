package gpiopin

import (
	"testing"
	"testing/synctest"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpiotest"

	"kioskd/devices"
)

func TestTamper(t *testing.T) {
	const open, closed = gpio.High, gpio.Low // openLow false
	ms := time.Millisecond
	tests := []struct {
		name   string
		script []action
		want   []devices.InputKind
	}{
		{"starts open (pull-up, nothing wired)",
			[]action{{func(*gpiotest.Pin) {}, 100 * ms}},
			[]devices.InputKind{devices.TamperOpened}},
		{"starts closed",
			[]action{{silent(closed), time.Second}},
			nil},
		{"opened and closed",
			[]action{{silent(closed), time.Second}, {edge(open), time.Second}, {edge(closed), time.Second}},
			[]devices.InputKind{devices.TamperOpened, devices.TamperClosed}},
		{"a bounce is nothing",
			[]action{{silent(closed), time.Second}, {edge(open), 5 * ms}, {edge(closed), time.Second}},
			nil},
		{"missed edge is caught by polling",
			[]action{{silent(closed), time.Second}, {silent(open), time.Second}},
			[]devices.InputKind{devices.TamperOpened}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				pin := &gpiotest.Pin{N: "GPIO27", EdgesChan: make(chan gpio.Level, 4)}
				r := start(t, pin, NewTamper("tamper", pin, false, 0))
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
