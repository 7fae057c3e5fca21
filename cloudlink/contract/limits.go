package contract

import "kioskd/textlimit"

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

// TextLimit bounds one text field (textlimit.Limit: which characters a text
// may hold, how it is checked and cut).
type TextLimit = textlimit.Limit

// TextError is a text refused by TextLimit.Check.
type TextError = textlimit.Error

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
