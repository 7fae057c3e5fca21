package kiosk

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// The bounds of the texts people give the kiosk: names, messages, reasons,
// outcomes, notes. They are the contract's (cloudlink/contract/limits.go),
// which kiosk may not import; firmware's TestTextLimitsAgree fails when the
// two differ. Step refuses a text over its bound with ErrBadInput, so a
// guard-console form, the citizen API and a platform command all meet the
// same bound however they reach the controller.

// TextLimit bounds one text: at most Runes characters and Bytes bytes of
// UTF-8. Lines allows line breaks (LF, CR) and tabs; no text may hold another
// control character (C0, DEL, C1), U+2028, U+2029, or a bidirectional
// override or isolate (U+202A–U+202E, U+2066–U+2069). Invalid UTF-8 is
// refused.
type TextLimit struct {
	Runes, Bytes int
	Lines        bool
}

// The limits of each kind of text.
var (
	NameLimit    = TextLimit{Runes: 64, Bytes: 192}                               // responder, from, by
	MessageLimit = TextLimit{Runes: 200, Bytes: maxMessageTextBytes, Lines: true} // a message for the citizen screen
	OutcomeLimit = TextLimit{Runes: 200, Bytes: 600}                              // how a matter ended
	ReasonLimit  = TextLimit{Runes: 500, Bytes: 1500, Lines: true}                // why it was escalated
	NoteLimit    = TextLimit{Runes: 1000, Bytes: 3000, Lines: true}
)

// Check returns nil when s fits, else an ErrBadInput naming field and why.
// A required text must hold more than spaces.
func (l TextLimit) Check(field, s string, required bool) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("%w: %s is not valid UTF-8", ErrBadInput, field)
	}
	if n := utf8.RuneCountInString(s); len(s) > l.Bytes || n > l.Runes {
		return fmt.Errorf("%w: %s is %d characters (%d bytes); at most %d characters and %d bytes",
			ErrBadInput, field, n, len(s), l.Runes, l.Bytes)
	}
	for i, r := range s {
		if !l.allowed(r) {
			return fmt.Errorf("%w: %s holds the control character %U at byte %d", ErrBadInput, field, r, i)
		}
	}
	if required && strings.TrimSpace(s) == "" {
		return fmt.Errorf("%w: %s is required", ErrBadInput, field)
	}
	return nil
}

func (l TextLimit) allowed(r rune) bool {
	switch {
	case r == '\n' || r == '\r' || r == '\t':
		return l.Lines
	case r < 0x20, r >= 0x7f && r <= 0x9f: // C0, DEL, C1
		return false
	case r == 0x2028 || r == 0x2029: // line and paragraph separators
		return false
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069: // bidi overrides, isolates
		return false
	}
	return true
}

// Cut shortens s to fit the limit (on a character boundary; invalid UTF-8
// and refused characters become U+FFFD): for recording what an outsider sent
// that was refused, without keeping all of it.
func (l TextLimit) Cut(s string) string {
	var b strings.Builder
	n := 0
	for _, r := range strings.ToValidUTF8(s, "\uFFFD") {
		if !l.allowed(r) {
			r = utf8.RuneError
		}
		if n == l.Runes || b.Len()+utf8.RuneLen(r) > l.Bytes {
			break
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}

// checkTexts returns the first error of checks.
func checkTexts(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// RefusedLimit bounds each text of a refused command's record: what an
// outsider sent is cut, never kept whole.
var RefusedLimit = TextLimit{Runes: 300, Bytes: 900}
