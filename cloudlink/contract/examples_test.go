package contract

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"flag"
	"os"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the examples in asyncapi.json from the Go types")

// The examples tell one story: kiosk post-0571-01, in its 7th run, registers a
// police call at 09:26:53 UTC and the platform handles it.
var (
	exKiosk          = "post-0571-01"
	exEpoch   uint64 = 7
	exT0             = time.Date(2025, 3, 14, 9, 26, 53, 0, time.UTC)
	exIncID          = "inc-7f3a9c2e41d0b865"
	exVersion        = "1.4.2"
)

func at(sec int) time.Time { return exT0.Add(time.Duration(sec) * time.Second) }

// example is one entry of a message's examples in the document.
type example struct {
	Name    string          `json:"name"`
	Summary string          `json:"summary"`
	Payload json.RawMessage `json:"payload"`
}

func mustJSON(t *testing.T, v any) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("marshal %T: %v", v, err)
	}
	return b
}

// examples builds every message's examples from the Go types, by message name.
func examples(t *testing.T) map[string][]example {
	ex := func(name, summary string, v any) example {
		return example{Name: name, Summary: summary, Payload: mustJSON(t, v)}
	}
	return map[string][]example{
		"Event":     eventExamples(t),
		"Ack":       {ex("ack", "The platform stored two events; before signing.", exAck())},
		"SignedAck": {ex("ack", "The same ack, signed with the example key.", signedAckExample(t))},
		"Availability": {
			ex("online", "Published after every connect.", availability(Online, 0)),
			ex("offline", "The last will, published by the broker when the connection dies.", availability(Offline, 0)),
			ex("stopped", "Published before a clean shutdown.", availability(Stopped, 7200)),
		},
		"Command":       commandExamples(t),
		"SignedCommand": signedCommandExamples(t),
		"Reply":         replyExamples(t),
		"State":         {ex("one open call", "One accepted police call.", exState())},
		"Heartbeat": {
			ex("healthy", "A kiosk whose alarm path is healthy, with two cameras (one without video) and one open incident.", exHeartbeat()),
			ex("degraded", "A kiosk working on after a journal recovery that no person has acknowledged yet.", exDegradedHeartbeat()),
		},
		"CameraReport": {ex("two cameras", "One camera online, one connected without video.", exCameraReport())},
	}
}

func availability(state string, sec int) Availability {
	return Availability{V: SchemaVersion, Kiosk: exKiosk, State: state, BootEpoch: exEpoch, Time: at(sec), Version: exVersion}
}

func exCommands(t *testing.T) []Command {
	cmd := func(sec int, id, name string, args any) Command {
		return Command{V: SchemaVersion, ID: id, Kiosk: exKiosk, Name: name, Args: mustJSON(t, args),
			Counter: uint64(at(sec).UnixNano()), Expires: at(sec + 300)}
	}
	return []Command{
		cmd(60, "c-20250314-0001", CmdAccept, AcceptArgs{Incident: exIncID, Responder: "王警官", CallbackBy: at(240)}),
		cmd(75, "c-20250314-0002", CmdMessage, MessageArgs{Incident: exIncID, From: "城东派出所", Text: "民警正在赶来，请稍候。"}),
		cmd(1000, "c-20250314-0003", CmdEscalate, EscalateArgs{Incident: exIncID, By: "王警官", Reason: "需要民警到场处置"}),
		cmd(5000, "c-20250314-0004", CmdClose, CloseArgs{Incident: exIncID, By: "王警官", Outcome: "已电话回访，纠纷已调解"}),
		cmd(400, "c-20250314-0005", CmdUploadClip, UploadClipArgs{Incident: exIncID, Clip: exClipID,
			URL: "https://oss.example.cn/clips/post-0571-01/" + exClipID + ".mp4?Expires=1741948013&Signature=c2lnbmF0dXJl"}),
		cmd(3600, exClipLinkCmd, CmdClipLink, ClipLinkArgs{Incident: exIncID, Clip: exClipID}),
		cmd(7390, "c-20250314-0006", CmdSelfTest, SelfTestArgs{Reason: "after replacing the police button"}),
		cmd(7990, exUpdateCmd, CmdUpdate, exUpdateArgs()),
		cmd(91000, "c-20250315-0001", CmdAcknowledgeRecovery, AcknowledgeRecoveryArgs{By: "王警官", Note: "journal.db damaged by a power cut; the salvaged alarms arrived"}),
	}
}

func commandExamples(t *testing.T) []example {
	var out []example
	for _, c := range exCommands(t) {
		out = append(out, example{Name: c.Name, Summary: "The " + c.Name + " command, before signing.", Payload: mustJSON(t, c)})
	}
	return out
}

// signedCommandExamples signs the commands with a fixed example key (seed
// 0x01 0x02 ... 0x20), so that the document's signatures can be checked.
func signedCommandExamples(t *testing.T) []example {
	key := exampleKey()
	var out []example
	for _, c := range exCommands(t) {
		b, err := SignCommand(key, c)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, example{Name: c.Name, Summary: "The " + c.Name + " command, signed.", Payload: b})
	}
	return out
}

func exAck() Ack {
	return Ack{V: SchemaVersion, Type: AckType, Kiosk: exKiosk, BootEpoch: exEpoch,
		IDs: []string{"9b1f0c7e5a2d48e6b3f1a0c9d8e7f6a5", "0c8e2f4a6b1d3c5e7f9a0b2c4d6e8f01"}}
}

// signedAckExample signs exAck with the example key of signedCommandExamples.
func signedAckExample(t *testing.T) json.RawMessage {
	b, err := SignAck(exampleKey(), exAck())
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// exampleKey is the fixed example signing key: seed 0x01 0x02 ... 0x20.
func exampleKey() ed25519.PrivateKey {
	seed := make([]byte, ed25519.SeedSize)
	for i := range seed {
		seed[i] = byte(i + 1)
	}
	return ed25519.NewKeyFromSeed(seed)
}

func replyExamples(t *testing.T) []example {
	ok := Reply{V: SchemaVersion, Command: "c-20250314-0001", Kiosk: exKiosk, OK: true}
	refused := Reply{V: SchemaVersion, Command: "c-20250314-0003", Kiosk: exKiosk, Error: &ReplyError{
		Code: ErrRejected, Message: `incident "` + exIncID + `" is cancelled: not allowed in this state`}}
	return []example{
		{Name: "ok", Summary: "The accept is journaled.", Payload: mustJSON(t, ok)},
		{Name: "rejected", Summary: "The escalate came after the caller cancelled.", Payload: mustJSON(t, refused)},
		{Name: "clip_link", Summary: "A fresh fetch URL of the door camera's clip, valid for an hour.", Payload: mustJSON(t, exClipLinkReply(t))},
	}
}

func exIncident() Incident {
	return Incident{
		ID: exIncID, Request: "police", Status: "accepted", Source: "button:police", Urgency: 1,
		Delivered: true, Presses: 2, RegisteredAt: exT0,
		CallbackDue: at(300), CloseDue: at(86400), Responder: "王警官",
	}
}

func exState() State {
	return State{V: SchemaVersion, Kiosk: exKiosk, BootEpoch: exEpoch, Time: at(60), Incidents: []Incident{exIncident()}}
}

func exHeartbeat() Heartbeat {
	return Heartbeat{
		V: SchemaVersion, Kiosk: exKiosk, BootEpoch: exEpoch, Time: at(120), ClockSynced: true,
		UptimeSeconds: 3725, Version: exVersion, AlarmPathHealthy: true,
		OutboxDepth: 1, OutboxOldest: at(118), DiskFreeBytes: 12_884_901_888,
		JournalBytes: 4_194_304, JournalMaxBytes: 268_435_456, OpenIncidents: 1,
		Faults:       []string{},
		Cameras:      exCameraStatuses(),
		LastSelfTest: func() *SelfTest { s := exSelfTest("schedule", -3*3600); return &s }(),
		Status:       StatusOK,
	}
}

// exDegradedHeartbeat is the kiosk after a journal recovery (see the
// journal.recovered example), before anyone acknowledged it.
func exDegradedHeartbeat() Heartbeat {
	return Heartbeat{
		V: SchemaVersion, Kiosk: exKiosk, BootEpoch: 8, Time: at(90060), ClockSynced: true,
		UptimeSeconds: 60, Version: exVersion, AlarmPathHealthy: true,
		DiskFreeBytes: 12_884_901_888, JournalBytes: 2_097_152, JournalMaxBytes: 268_435_456,
		OpenIncidents: 1, Faults: []string{"journal_recovered"}, Cameras: []CameraStatus{},
		Status: StatusDegraded,
		JournalRecovery: &JournalRecovery{
			SetAside: exSetAside, Since: at(90000),
			Salvage: &Salvage{Events: 412, Requeued: 3, OpenIncidents: 1, SeqFrom: 512, BootEpoch: 7,
				Reason: "journal: corrupt file: page 37 out of range"},
		},
	}
}

// TestAsyncAPIExamples fails when the document's examples are not what the
// Go types produce. With -update it rewrites them (and the file's layout:
// sorted keys, two-space indent).
func TestAsyncAPIExamples(t *testing.T) {
	doc := loadDoc(t)
	msgs := obj(t, obj(t, doc, "components"), "messages")
	want := examples(t)
	for name := range msgs {
		if _, ok := want[name]; !ok {
			t.Errorf("message %s: no generated examples", name)
		}
	}
	for name, exs := range want {
		m := obj(t, msgs, name)
		if *update {
			m["examples"] = decode(t, mustJSON(t, exs))
			continue
		}
		compareExamples(t, name, anySlice(m["examples"]), exs)
	}
	if *update {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		if err := enc.Encode(doc); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile("asyncapi.json", buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func compareExamples(t *testing.T, msg string, got []any, want []example) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("message %s: %d examples, the Go types give %d; run with -update", msg, len(got), len(want))
		return
	}
	for i, w := range want {
		g, w := canonical(t, got[i]), canonical(t, decode(t, mustJSON(t, w)))
		if !bytes.Equal(g, w) {
			t.Errorf("message %s example %d differs from the Go types; run with -update\n got: %s\nwant: %s", msg, i, g, w)
		}
	}
}

// canonical encodes a decoded JSON value with sorted keys.
func canonical(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func decode(t *testing.T, b []byte) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decode: %v", err)
	}
	return v
}
