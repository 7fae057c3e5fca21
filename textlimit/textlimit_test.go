package textlimit

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestCheck(t *testing.T) {
	name := Limit{Runes: 64, Bytes: 192} // a person's name on the wire
	lines := Limit{Runes: 200, Bytes: 600, Lines: true}
	tests := []struct {
		what     string
		limit    Limit
		s        string
		required bool
		ok       bool
	}{
		{"widest CJK at the bound", name, strings.Repeat("龘", 64), true, true},
		{"one character over", name, strings.Repeat("龘", 65), true, false},
		{"ASCII at the bound", name, strings.Repeat("a", 64), true, true},
		{"emoji within characters, over bytes", name, strings.Repeat("😀", 49), true, false},
		{"emoji at the byte bound", name, strings.Repeat("😀", 48), true, true},
		{"300 KB", name, strings.Repeat("x", 300<<10), true, false},
		{"blank but required", name, "  \u3000 ", true, false},
		{"empty, optional", name, "", false, true},
		{"empty, required", name, "", true, false},
		{"invalid UTF-8", name, "王\xff警官", true, false},
		{"NUL", name, "王\x00", true, false},
		{"line break in a name", name, "王\n警官", true, false},
		{"line break in a message", lines, "第一行\r\n第二行\tend", true, true},
		{"escape in a message", lines, "\x1b[2J", true, false},
		{"C1 control", lines, "a\u0085b", true, false},
		{"DEL", name, "a\x7f", true, false},
		{"bidi override", name, "abc\u202Efed", true, false},
		{"bidi isolate", name, "\u2066x\u2069", true, false},
		{"line separator", lines, "a\u2028b", true, false},
		{"emoji with a joiner", name, "👩\u200d🚒 消防", true, true},
	}
	for _, tt := range tests {
		err := tt.limit.Check("f", tt.s, tt.required)
		if got := err == nil; got != tt.ok {
			t.Errorf("%s: Check = %v, want ok %v", tt.what, err, tt.ok)
		}
		var te *Error
		if err != nil && (!errors.As(err, &te) || te.Field != "f") {
			t.Errorf("%s: error %v is not an *Error for field f", tt.what, err)
		}
	}
}

func TestCut(t *testing.T) {
	id := Limit{Runes: 128, Bytes: 128}
	for _, s := range []string{strings.Repeat("龘", 300), strings.Repeat("😀x", 300), "a\x00b\xffc\u202e", strings.Repeat("y", 300<<10)} {
		got := id.Cut(s)
		if err := id.Check("id", got, false); err != nil {
			t.Errorf("Cut(%.20q...) = %.20q..., which does not fit: %v", s, got, err)
		}
		if !utf8.ValidString(got) || got == "" {
			t.Errorf("Cut(%.20q...) = %q", s, got)
		}
	}
	if got := (Limit{Runes: 64, Bytes: 192}).Cut("王警官"); got != "王警官" {
		t.Errorf("Cut of a fitting text = %q, want it unchanged", got)
	}
}
