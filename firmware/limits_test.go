package firmware_test

import (
	"strings"
	"testing"

	"kioskd/cloudlink/contract"
	"kioskd/kiosk"
)

// TestTextLimitsAgree: kiosk may not import the contract, so it keeps its
// own copy of the text limits; the two must be the same, and refuse the
// same texts.
func TestTextLimitsAgree(t *testing.T) {
	pairs := []struct {
		name string
		k    kiosk.TextLimit
		c    contract.TextLimit
	}{
		{"name", kiosk.NameLimit, contract.NameLimit},
		{"message", kiosk.MessageLimit, contract.MessageLimit},
		{"outcome", kiosk.OutcomeLimit, contract.OutcomeLimit},
		{"reason", kiosk.ReasonLimit, contract.ReasonLimit},
		{"note", kiosk.NoteLimit, contract.NoteLimit},
		{"refused", kiosk.RefusedLimit, contract.RefusedLimit},
	}
	texts := []string{"", " ", "王警官", "a\nb", "a\r\n\tb", "\x00", "\x1b[1m", "a\u0085", "a\u2028", "\u202eabc", "\u2067x",
		"\xff", "👩\u200d🚒", strings.Repeat("龘", 64), strings.Repeat("😀", 49), strings.Repeat("x", 1001)}
	for _, p := range pairs {
		if p.k.Runes != p.c.Runes || p.k.Bytes != p.c.Bytes || p.k.Lines != p.c.Lines {
			t.Errorf("%s: kiosk %+v, contract %+v", p.name, p.k, p.c)
		}
		for _, s := range texts {
			for _, required := range []bool{false, true} {
				ke, ce := p.k.Check("f", s, required), p.c.Check("f", s, required)
				if (ke == nil) != (ce == nil) {
					t.Errorf("%s %.12q required=%v: kiosk says %v, contract %v", p.name, s, required, ke, ce)
				}
			}
		}
	}
}
