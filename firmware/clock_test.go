package firmware

import (
	"log/slog"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"kioskd/kiosk"
	"kioskd/kiosk/journal"
)

func TestTimexSynced(t *testing.T) {
	tests := []struct {
		name     string
		maxError int64 // microseconds, as adjtimex reports it
		want     bool
	}{
		{"never synchronised, or last NTP update hours ago (the kernel's limit)", 16_000_000, false},
		{"systemd-timesyncd just updated", 0, true},
		{"chrony without rtcsync (STA_UNSYNC set, yet synchronised)", 150_000, true},
		{"just under the limit", 15_999_999, true},
	}
	for _, tt := range tests {
		if got := timexSynced(tt.maxError); got != tt.want {
			t.Errorf("%s: timexSynced(%d) = %v, want %v", tt.name, tt.maxError, got, tt.want)
		}
	}
}

// TestHeartbeatClockSynced: the heartbeat says clock_synced only while the
// kernel says the clock is synchronised and the kiosk's clock agrees with
// it; a system clock that was just stepped is not trusted until the
// controller has followed it.
func TestHeartbeatClockSynced(t *testing.T) {
	j, err := journal.Open(filepath.Join(t.TempDir(), JournalFile), journal.Options{KioskID: "k1", Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	var kernelSynced atomic.Bool
	var offset atomic.Int64 // what the system clock is ahead of real time
	wall := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	clock := kiosk.NewClock(wall, j.ClockFloor(), kernelSynced.Load)
	ctrl := kiosk.New(kiosk.Rules{CallbackWithin: time.Minute, CloseWithin: time.Hour}, Version, j, clock, kiosk.NewState(), slog.New(slog.DiscardHandler))
	b := &bridge{journal: j, controller: ctrl, clock: clock, started: time.Now(), log: slog.New(slog.DiscardHandler),
		alarmPath: func() error { return nil }}

	steps := []struct {
		name   string
		synced bool
		offset time.Duration
		want   bool
	}{
		{"kernel not synchronised", false, 0, false},
		{"kernel synchronised, kiosk clock agrees", true, 0, true},
		{"system clock stepped an hour, not yet followed", true, time.Hour, false},
		{"kernel not synchronised, clocks agree", false, 0, false},
	}
	for _, s := range steps {
		kernelSynced.Store(s.synced)
		offset.Store(int64(s.offset))
		if got := b.Heartbeat().ClockSynced; got != s.want {
			t.Errorf("%s: heartbeat clock_synced = %v, want %v", s.name, got, s.want)
		}
	}
}
