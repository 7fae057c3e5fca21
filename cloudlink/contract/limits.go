package contract

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Every text that comes from outside has a bound in characters (Unicode code
// points, what JSON Schema's maxLength counts) and one in bytes of UTF-8:
// both must hold. The byte bound is three bytes a character, so a text of
// Chinese characters may use its whole character bound, and one of emoji
// (four bytes each) three quarters of it. The kiosk refuses, never cuts, a
// text over its bound or with a character it does not accept (see
// TextLimit.Check); doc.md's "Limits" lists them for platform vendors.
const (
	MaxIDRunes, MaxIDBytes                   = 64, 64     // incident and clip ids
	MaxCommandIDRunes, MaxCommandIDBytes     = 128, 128   // Command.id, echoed in the reply
	MaxNameRunes, MaxNameBytes               = 64, 192    // responder, from, by: a person or a desk
	MaxMessageRunes, MaxMessageBytes         = 200, 600   // message text, shown on the citizen screen
	MaxOutcomeRunes, MaxOutcomeBytes         = 200, 600   // close and handle outcome
	MaxReasonRunes, MaxReasonBytes           = 500, 1500  // escalate and self_test reason
	MaxNoteRunes, MaxNoteBytes               = 1000, 3000 // a guard's note; acknowledge_recovery's note
	MaxURLRunes, MaxURLBytes                 = 2048, 2048 // upload_clip and update url
	MaxVersionRunes, MaxVersionBytes         = 64, 64     // update version
	MaxSignatureRunes, MaxSignatureBytes     = 128, 128   // update signature (base64)
	MaxCommandNameRunes, MaxCommandNameBytes = 64, 64     // Command.name
	MaxRefusedRunes, MaxRefusedBytes         = 300, 900   // each text of a security.command_refused event, cut
)

// TextLimit bounds one text field. Lines allows line breaks (LF, CR) and
// tabs; no text may hold another control character (C0, DEL, C1), a line
// or paragraph separator (U+2028, U+2029) or a bidirectional override or
// isolate (U+202A–U+202E, U+2066–U+2069), which could make a name on a
// screen or in a log read as something else. Invalid UTF-8 is refused too.
type TextLimit struct {
	Runes, Bytes int
	Lines        bool
}

// The limits of each kind of text.
var (
	IDLimit          = TextLimit{Runes: MaxIDRunes, Bytes: MaxIDBytes}
	CommandIDLimit   = TextLimit{Runes: MaxCommandIDRunes, Bytes: MaxCommandIDBytes}
	CommandNameLimit = TextLimit{Runes: MaxCommandNameRunes, Bytes: MaxCommandNameBytes}
	NameLimit        = TextLimit{Runes: MaxNameRunes, Bytes: MaxNameBytes}
	MessageLimit     = TextLimit{Runes: MaxMessageRunes, Bytes: MaxMessageBytes, Lines: true}
	OutcomeLimit     = TextLimit{Runes: MaxOutcomeRunes, Bytes: MaxOutcomeBytes}
	ReasonLimit      = TextLimit{Runes: MaxReasonRunes, Bytes: MaxReasonBytes, Lines: true}
	NoteLimit        = TextLimit{Runes: MaxNoteRunes, Bytes: MaxNoteBytes, Lines: true}
	URLLimit         = TextLimit{Runes: MaxURLRunes, Bytes: MaxURLBytes}
	VersionLimit     = TextLimit{Runes: MaxVersionRunes, Bytes: MaxVersionBytes}
	SignatureLimit   = TextLimit{Runes: MaxSignatureRunes, Bytes: MaxSignatureBytes}
	// RefusedLimit is not a refusal's bound but its cut: the kiosk records
	// what a refused command carried, cut to it (TextLimit.Cut).
	RefusedLimit = TextLimit{Runes: MaxRefusedRunes, Bytes: MaxRefusedBytes}
)

// TextError is a text refused by TextLimit.Check.
type TextError struct {
	Field   string // the field's JSON name
	Problem string
}

func (e *TextError) Error() string { return e.Field + ": " + e.Problem }

// Check returns nil when s fits the limit, else a *TextError naming field
// and why. A required text must hold more than spaces.
func (l TextLimit) Check(field, s string, required bool) error {
	if problem := l.problem(s, required); problem != "" {
		return &TextError{Field: field, Problem: problem}
	}
	return nil
}

func (l TextLimit) problem(s string, required bool) string {
	if !utf8.ValidString(s) {
		return "not valid UTF-8"
	}
	if n := utf8.RuneCountInString(s); len(s) > l.Bytes || n > l.Runes {
		return fmt.Sprintf("%d characters (%d bytes); at most %d characters and %d bytes", n, len(s), l.Runes, l.Bytes)
	}
	for i, r := range s {
		if !l.allowed(r) {
			return fmt.Sprintf("holds the control character %U at byte %d", r, i)
		}
	}
	if required && strings.TrimSpace(s) == "" {
		return "required, and not blank"
	}
	return ""
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

// Cut returns s shortened to fit the limit's bounds (on a character
// boundary, invalid UTF-8 and refused characters replaced by U+FFFD), for
// recording what a refused command carried without storing all of it.
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

// checkAll returns the first error of checks, in order.
func checkAll(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
