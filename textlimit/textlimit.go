// Package textlimit bounds a text that comes from outside: a name, a
// message, a reason, a note. It is a leaf that both cloudlink/contract (the
// limits on the wire) and kiosk (the limits Step enforces, whichever way an
// input arrives) use, because the two may not import each other
// (ARCHITECTURE.md, "Import rules"). It holds the rule, not the bounds: each
// user names its own.
package textlimit

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Limit bounds one text field: at most Runes characters (Unicode code
// points, what JSON Schema's maxLength counts) and Bytes bytes of UTF-8.
// Lines allows line breaks (LF, CR) and tabs; no text may hold another
// control character (C0, DEL, C1), a line or paragraph separator (U+2028,
// U+2029) or a bidirectional override or isolate (U+202A–U+202E,
// U+2066–U+2069), which could make a name on a screen or in a log read as
// something else. Invalid UTF-8 is refused too.
type Limit struct {
	Runes, Bytes int
	Lines        bool
}

// Error is a text refused by Limit.Check.
type Error struct {
	Field   string // the field's JSON name
	Problem string
}

func (e *Error) Error() string { return e.Field + ": " + e.Problem }

// Check returns nil when s fits the limit, else an *Error naming field and
// why. A required text must hold more than spaces.
func (l Limit) Check(field, s string, required bool) error {
	if problem := l.problem(s, required); problem != "" {
		return &Error{Field: field, Problem: problem}
	}
	return nil
}

func (l Limit) problem(s string, required bool) string {
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

func (l Limit) allowed(r rune) bool {
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
// recording what an outsider sent that was refused without storing all of
// it.
func (l Limit) Cut(s string) string {
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
