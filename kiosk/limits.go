package kiosk

import (
	"fmt"

	"kioskd/textlimit"
)

// The bounds of the texts people give the kiosk: names, messages, reasons,
// outcomes, notes. They are the contract's (cloudlink/contract/limits.go),
// which kiosk may not import; both check them with the same rule
// (textlimit), and firmware's TestTextLimitsAgree fails when the bounds
// differ. Step refuses a text over its bound with ErrBadInput, so a
// guard-console form, the citizen API and a platform command all meet the
// same bound however they reach the controller.

// TextLimit bounds one text (textlimit.Limit: at most Runes characters and
// Bytes bytes of UTF-8; Lines allows line breaks and tabs; no other control
// character, separator or bidirectional override).
type TextLimit textlimit.Limit

// The limits of each kind of text.
var (
	NameLimit    = TextLimit{Runes: 64, Bytes: 192}                               // responder, from, by
	MessageLimit = TextLimit{Runes: 200, Bytes: maxMessageTextBytes, Lines: true} // a message for the citizen screen
	OutcomeLimit = TextLimit{Runes: 200, Bytes: 600}                              // how a matter ended
	ReasonLimit  = TextLimit{Runes: 500, Bytes: 1500, Lines: true}                // why it was escalated
	NoteLimit    = TextLimit{Runes: 1000, Bytes: 3000, Lines: true}
)

// RefusedLimit bounds each text of a refused command's record: what an
// outsider sent is cut, never kept whole.
var RefusedLimit = TextLimit{Runes: 300, Bytes: 900}

// Check returns nil when s fits, else an ErrBadInput naming field and why.
// A required text must hold more than spaces.
func (l TextLimit) Check(field, s string, required bool) error {
	if err := textlimit.Limit(l).Check(field, s, required); err != nil {
		return fmt.Errorf("%w: %w", ErrBadInput, err)
	}
	return nil
}

// Cut shortens s to fit the limit (on a character boundary; invalid UTF-8
// and refused characters become U+FFFD): for recording what an outsider sent
// that was refused, without keeping all of it.
func (l TextLimit) Cut(s string) string { return textlimit.Limit(l).Cut(s) }
