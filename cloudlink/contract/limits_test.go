package contract

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"
)

// TestArgsCheck: every command's args refuse an oversized text in each
// field, and a missing required one.
func TestArgsCheck(t *testing.T) {
	big := strings.Repeat("长", 300<<10/3) // 300 KB
	tests := []struct {
		name string
		args Args
		ok   bool
	}{
		{"accept", AcceptArgs{Incident: "inc-1", Responder: "王警官"}, true},
		{"accept 300 KB responder", AcceptArgs{Incident: "inc-1", Responder: big}, false},
		{"accept no responder", AcceptArgs{Incident: "inc-1"}, false},
		{"accept long incident", AcceptArgs{Incident: strings.Repeat("i", 65), Responder: "x"}, false},
		{"message", MessageArgs{Incident: "inc-1", From: "派出所", Text: "值班人员将在5分钟内与您联系"}, true},
		{"message no from", MessageArgs{Incident: "inc-1", Text: "hello"}, false},
		{"message long text", MessageArgs{Incident: "inc-1", From: "a", Text: strings.Repeat("字", 201)}, false},
		{"escalate", EscalateArgs{Incident: "inc-1", By: "a", Reason: "需要民警到场\n嫌疑人在场"}, true},
		{"escalate long reason", EscalateArgs{Incident: "inc-1", By: "a", Reason: strings.Repeat("r", 1501)}, false},
		{"close", CloseArgs{Incident: "inc-1", By: "a", Outcome: "mediated"}, true},
		{"close 5000-character outcome", CloseArgs{Incident: "inc-1", By: "a", Outcome: strings.Repeat("o", 5000)}, false},
		{"close outcome with a line break", CloseArgs{Incident: "inc-1", By: "a", Outcome: "a\nb"}, false},
		{"upload_clip", UploadClipArgs{Incident: "inc-1", Clip: "clip-1", URL: "https://s3/x?sig=1"}, true},
		{"upload_clip long url", UploadClipArgs{Incident: "inc-1", Clip: "clip-1", URL: "https://s3/" + strings.Repeat("u", 2048)}, false},
		{"clip_link", ClipLinkArgs{Incident: "inc-1", Clip: "clip-1"}, true},
		{"clip_link no clip", ClipLinkArgs{Incident: "inc-1"}, false},
		{"self_test no reason", SelfTestArgs{}, true},
		{"self_test long reason", SelfTestArgs{Reason: big}, false},
		{"update long version", UpdateArgs{URL: "https://x/k", Version: big, SHA256: strings.Repeat("0", 64), Arch: "arm64", Signature: "c2ln"}, false},
		{"update", UpdateArgs{URL: "https://x/k", Version: "1.5.0", SHA256: strings.Repeat("0", 64), Arch: "arm64", Signature: "c2ln"}, true},
	}
	for _, tt := range tests {
		if err := tt.args.Check(); (err == nil) != tt.ok {
			t.Errorf("%s: Check = %v, want ok %v", tt.name, err, tt.ok)
		}
	}
}

func TestCheckArgs(t *testing.T) {
	responder := strings.Repeat("x", 300<<10)
	raw, _ := json.Marshal(AcceptArgs{Incident: "inc-1", Responder: responder})
	err := CheckArgs(CmdAccept, raw)
	if !errors.Is(err, ErrArgs) || !strings.Contains(err.Error(), "args.responder") {
		t.Errorf("300 KB responder: %v, want ErrArgs naming args.responder", err)
	}
	if len(err.Error()) > 200 {
		t.Errorf("the error repeats the text: %d bytes", len(err.Error()))
	}
	for _, raw := range []string{`{"incident":"inc-1","responder":"\xff\xfe"}`, `{"incident":"inc-1","responder":"a\u0000"}`, `{"incident":"inc-1"`, `{"incident":"inc-1","text":"x"}`} {
		if err := CheckArgs(CmdMessage, json.RawMessage(raw)); !errors.Is(err, ErrArgs) {
			t.Errorf("message args %q: %v, want ErrArgs", raw, err)
		}
	}
	if err := CheckArgs(CmdMessage, json.RawMessage(`{"incident":"inc-1","from":"站","text":"好","later_field":1}`)); err != nil {
		t.Errorf("message with an unknown field: %v, want ok (v1 grows fields)", err)
	}
	if err := CheckArgs(CmdSelfTest, nil); err != nil {
		t.Errorf("self_test without args: %v", err)
	}
	if err := CheckArgs("reboot", nil); !errors.Is(err, ErrArgs) {
		t.Errorf("unknown command: %v", err)
	}
}

// TestCommandEnvelopeBounded: a command with a 300 KB id, kiosk or name is
// malformed, and what is echoed and recorded of it is cut to the bounds.
func TestCommandEnvelopeBounded(t *testing.T) {
	big := strings.Repeat("z", 300<<10)
	for _, c := range []Command{
		{V: 1, ID: big, Kiosk: "k", Name: CmdAccept, Counter: 1},
		{V: 1, ID: "c1", Kiosk: big, Name: CmdAccept, Counter: 1},
		{V: 1, ID: "c1", Kiosk: "k", Name: big, Counter: 1},
	} {
		b, _ := json.Marshal(c)
		got, err := DecodeUnsignedCommand(b)
		var rerr *ReplyError
		if !errors.As(err, &rerr) || rerr.Code != ErrMalformed {
			t.Errorf("command of %d bytes: %v, want malformed", len(b), err)
		}
		if n := len(got.ID) + len(got.Kiosk) + len(got.Name); n > MaxCommandIDBytes+MaxIDBytes+MaxCommandNameBytes {
			t.Errorf("refused command keeps %d bytes of text", n)
		}
		if len(rerr.Message) > 200 {
			t.Errorf("the refusal repeats the text: %d bytes", len(rerr.Message))
		}
	}
}

// argsLimits says which limit bounds each text property of the args
// schemas, and of what the kiosk sends back of them; TestAsyncAPILimits
// holds asyncapi.json to it.
var argsLimits = map[string]map[string]TextLimit{
	"Command":                 {"id": CommandIDLimit, "kiosk": IDLimit, "name": CommandNameLimit},
	"AcceptArgs":              {"incident": IDLimit, "responder": NameLimit},
	"MessageArgs":             {"incident": IDLimit, "from": NameLimit, "text": MessageLimit},
	"EscalateArgs":            {"incident": IDLimit, "by": NameLimit, "reason": ReasonLimit},
	"CloseArgs":               {"incident": IDLimit, "by": NameLimit, "outcome": OutcomeLimit},
	"UploadClipArgs":          {"incident": IDLimit, "clip": IDLimit, "url": URLLimit},
	"ClipLinkArgs":            {"incident": IDLimit, "clip": IDLimit},
	"SelfTestArgs":            {"reason": ReasonLimit},
	"UpdateArgs":              {"url": URLLimit, "version": VersionLimit, "signature": SignatureLimit},
	"AcknowledgeRecoveryArgs": {"by": NameLimit, "note": NoteLimit},
	// What the kiosk sends back of them.
	"Incident":                      {"responder": NameLimit, "outcome": OutcomeLimit},
	"EventIncident":                 {"responder": NameLimit, "outcome": OutcomeLimit},
	"IncidentMessage":               {"from": NameLimit, "text": MessageLimit},
	"data.incident.accepted":        {"responder": NameLimit},
	"data.incident.message":         {"from": NameLimit, "text": MessageLimit},
	"data.incident.note_added":      {"by": NameLimit, "text": NoteLimit},
	"data.incident.escalated":       {"by": NameLimit, "reason": ReasonLimit},
	"data.incident.closed":          {"by": NameLimit, "outcome": OutcomeLimit},
	"data.incident.handled_on_site": {"by": NameLimit},
	"data.incident.cancelled":       {"by": NameLimit},
	"data.security.command_refused": {"addressed_to": RefusedLimit, "command": RefusedLimit, "message": RefusedLimit, "name": RefusedLimit},
}

// TestAsyncAPILimits: every text property of what the platform sends has
// maxLength (characters) equal to its limit, and its description gives the
// byte bound; a string property without a limit must be an enum or have a
// pattern or a format that bounds it.
func TestAsyncAPILimits(t *testing.T) {
	doc := loadDoc(t)
	for schema, limits := range argsLimits {
		props := obj(t, schemaByName(t, doc, schema), "properties")
		for prop, p := range props {
			p, _ := p.(map[string]any)
			if p["type"] != "string" {
				continue
			}
			where := schema + "." + prop
			l, ok := limits[prop]
			if !ok {
				if sentByPlatform(schema) && p["enum"] == nil && p["pattern"] == nil && p["format"] == nil {
					t.Errorf("%s: a text without a limit", where)
				}
				continue
			}
			if got := fmt.Sprint(p["maxLength"]); got != fmt.Sprint(l.Runes) {
				t.Errorf("%s: maxLength %s, want %d (characters)", where, got, l.Runes)
			}
			desc, _ := p["description"].(string)
			if want := fmt.Sprintf("%d bytes", l.Bytes); !strings.Contains(desc, want) {
				t.Errorf("%s: description %q does not give the byte bound %q", where, desc, want)
			}
		}
		for prop := range limits {
			if props[prop] == nil {
				t.Errorf("%s.%s: limited in Go, absent from the document", schema, prop)
			}
		}
	}
}

func sentByPlatform(schema string) bool {
	return schema == "Command" || strings.HasSuffix(schema, "Args")
}

// FuzzCheckArgs: any args of any command are decoded and checked without a
// panic; what passes fits every limit, and what Cut makes of any text fits.
func FuzzCheckArgs(f *testing.F) {
	for _, s := range []string{`{"incident":"i","responder":"王"}`, `{"incident":"i","from":"a","text":"b\n"}`, `{"by":"\u202e"}`, "\xff", `null`, `[]`, `{"url":"http://x"}`} {
		for _, name := range []string{CmdAccept, CmdMessage, CmdEscalate, CmdClose, CmdUploadClip, CmdClipLink, CmdSelfTest, CmdUpdate} {
			f.Add(name, []byte(s))
		}
	}
	f.Fuzz(func(t *testing.T, name string, raw []byte) {
		v := NewArgs(name)
		if v == nil {
			return
		}
		if err := DecodeArgs(raw, v); err != nil {
			if !errors.Is(err, ErrArgs) || len(err.Error()) > 1000 {
				t.Fatalf("error %.200q: want a short ErrArgs", err)
			}
			return
		}
		b, _ := json.Marshal(v)
		if !utf8.Valid(b) || len(b) > 8<<10 {
			t.Fatalf("accepted args of %d bytes: %.200q", len(b), b)
		}
		for _, l := range []TextLimit{IDLimit, NameLimit, MessageLimit, RefusedLimit} {
			if got := l.Cut(string(raw)); l.Check("f", got, false) != nil {
				t.Fatalf("Cut(%.40q) = %.40q does not fit %+v", raw, got, l)
			}
		}
	})
}
