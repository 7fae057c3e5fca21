package contract

import (
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"
)

// Check methods: each args type checks its own fields against the limits
// (limits.go) and its required fields. The kiosk answers bad_args to a
// command whose args fail, before anything changes.

func (a AcceptArgs) Check() error {
	return checkAll(
		IDLimit.Check("incident", a.Incident, true),
		NameLimit.Check("responder", a.Responder, true),
	)
}

func (a MessageArgs) Check() error {
	return checkAll(
		IDLimit.Check("incident", a.Incident, true),
		NameLimit.Check("from", a.From, true),
		MessageLimit.Check("text", a.Text, true),
	)
}

func (a EscalateArgs) Check() error {
	return checkAll(
		IDLimit.Check("incident", a.Incident, true),
		NameLimit.Check("by", a.By, true),
		ReasonLimit.Check("reason", a.Reason, true),
	)
}

func (a CloseArgs) Check() error {
	return checkAll(
		IDLimit.Check("incident", a.Incident, true),
		NameLimit.Check("by", a.By, true),
		OutcomeLimit.Check("outcome", a.Outcome, true),
	)
}

func (a UploadClipArgs) Check() error {
	return checkAll(
		IDLimit.Check("incident", a.Incident, true),
		IDLimit.Check("clip", a.Clip, true),
		URLLimit.Check("url", a.URL, true),
	)
}

func (a ClipLinkArgs) Check() error {
	return checkAll(
		IDLimit.Check("incident", a.Incident, true),
		IDLimit.Check("clip", a.Clip, true),
	)
}

func (a SelfTestArgs) Check() error {
	return ReasonLimit.Check("reason", a.Reason, false)
}

// Check bounds the texts of an update; whether they make sense (arch,
// sha256, signature, version order) is the kiosk's to judge, with an
// update.rejected event naming the reason.
func (a UpdateArgs) Check() error {
	return checkAll(
		URLLimit.Check("url", a.URL, true),
		VersionLimit.Check("version", a.Version, true),
		IDLimit.Check("arch", a.Arch, true),
		IDLimit.Check("sha256", a.SHA256, true),
		SignatureLimit.Check("signature", a.Signature, true),
	)
}

func (a AcknowledgeRecoveryArgs) Check() error {
	return checkAll(
		NameLimit.Check("by", a.By, true),
		NoteLimit.Check("note", a.Note, false),
	)
}

// Args is a command's args type: it checks its own fields.
type Args interface{ Check() error }

// NewArgs returns a pointer to a zero args value of the named command, or
// nil when the command takes none or is unknown.
func NewArgs(name string) Args {
	switch name {
	case CmdAccept:
		return &AcceptArgs{}
	case CmdMessage:
		return &MessageArgs{}
	case CmdEscalate:
		return &EscalateArgs{}
	case CmdClose:
		return &CloseArgs{}
	case CmdUploadClip:
		return &UploadClipArgs{}
	case CmdClipLink:
		return &ClipLinkArgs{}
	case CmdSelfTest:
		return &SelfTestArgs{}
	case CmdUpdate:
		return &UpdateArgs{}
	case CmdAcknowledgeRecovery:
		return &AcknowledgeRecoveryArgs{}
	}
	return nil
}

// ErrArgs is wrapped by every error of DecodeArgs.
var ErrArgs = errors.New("bad args")

// DecodeArgs decodes raw into v (a pointer to an args type) and checks it.
// The raw bytes must be valid UTF-8: encoding/json would otherwise replace
// invalid bytes silently. Unknown fields are allowed: v1 may grow fields a
// kiosk does not know yet. Absent args decode as {} (self_test takes none).
func DecodeArgs(raw json.RawMessage, v Args) error {
	if !utf8.Valid(raw) {
		return fmt.Errorf("%w: args are not valid UTF-8", ErrArgs)
	}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, v); err != nil {
			return fmt.Errorf("%w: %w", ErrArgs, err)
		}
	}
	if err := v.Check(); err != nil {
		return fmt.Errorf("%w: args.%w", ErrArgs, err)
	}
	return nil
}

// CheckArgs decodes and checks the args of the named command, as the kiosk
// will: for a sender that wants to refuse bad args before signing.
func CheckArgs(name string, raw json.RawMessage) error {
	v := NewArgs(name)
	if v == nil {
		return fmt.Errorf("%w: unknown command %q", ErrArgs, name)
	}
	return DecodeArgs(raw, v)
}

// checkEnvelope bounds the texts of the command itself, which the kiosk
// echoes in its reply and records when it refuses the command.
func (c Command) checkEnvelope() error {
	return checkAll(
		CommandIDLimit.Check("id", c.ID, false),
		IDLimit.Check("kiosk", c.Kiosk, false),
		CommandNameLimit.Check("name", c.Name, false),
	)
}

// cut shortens the texts of a command refused by checkEnvelope, so that its
// reply and its record stay small.
func (c Command) cut() Command {
	c.ID, c.Kiosk, c.Name = CommandIDLimit.Cut(c.ID), IDLimit.Cut(c.Kiosk), CommandNameLimit.Cut(c.Name)
	c.Args = nil
	return c
}
