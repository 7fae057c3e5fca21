package firmware

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"kioskd/cloudlink"
	"kioskd/kiosk"
)

// TestHealthJournalHung: a journal write that never returns leaves no error
// behind; the alarm path still counts as broken once no write check has
// finished for journalHung, so the watchdog stops pinging.
func TestHealthJournalHung(t *testing.T) {
	ctrl := kiosk.New(kiosk.Rules{}, Version, nil, nil, kiosk.NewState(), slog.New(slog.DiscardHandler))
	link := cloudlink.New(cloudlink.Config{}, nil, nil, slog.New(slog.DiscardHandler))
	tests := []struct {
		name      string
		lastCheck time.Duration // ago
		wantHung  bool
	}{
		{"checked just now", 0, false},
		{"checked 20 s ago (checks run every 10 s)", 20 * time.Second, false},
		{"no check finished for 40 s", 40 * time.Second, true},
	}
	for _, tt := range tests {
		h := newHealth()
		h.journalAt = time.Now().Add(-tt.lastCheck)
		err := h.report(ctrl, link).AlarmPath
		if hung := err != nil && strings.Contains(err.Error(), "a write hangs"); hung != tt.wantHung {
			t.Errorf("%s: alarm path %v; want hung %v", tt.name, err, tt.wantHung)
		}
	}
}
