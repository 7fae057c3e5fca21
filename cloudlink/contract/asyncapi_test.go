package contract

import (
	"encoding/json"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The drift tests: the AsyncAPI document must say exactly what the Go types
// put on the wire. Adding a field, a topic, a command, an error code or an
// event type without documenting it fails here.

// schemaNames maps the Go payload types to their schemas in the document.
var schemaNames = map[reflect.Type]string{
	reflect.TypeFor[Event]():           "Event",
	reflect.TypeFor[Ack]():             "Ack",
	reflect.TypeFor[Availability]():    "Availability",
	reflect.TypeFor[Command]():         "Command",
	reflect.TypeFor[SignedCommand]():   "SignedCommand",
	reflect.TypeFor[AcceptArgs]():      "AcceptArgs",
	reflect.TypeFor[MessageArgs]():     "MessageArgs",
	reflect.TypeFor[EscalateArgs]():    "EscalateArgs",
	reflect.TypeFor[CloseArgs]():       "CloseArgs",
	reflect.TypeFor[Reply]():           "Reply",
	reflect.TypeFor[ReplyError]():      "ReplyError",
	reflect.TypeFor[State]():           "State",
	reflect.TypeFor[Incident]():        "Incident",
	reflect.TypeFor[Heartbeat]():       "Heartbeat",
	reflect.TypeFor[CameraStatus]():    "CameraStatus",
	reflect.TypeFor[CameraReport]():    "CameraReport",
	reflect.TypeFor[Clip]():            "Clip",
	reflect.TypeFor[UploadClipArgs]():  "UploadClipArgs",
	reflect.TypeFor[ClipLinkArgs]():    "ClipLinkArgs",
	reflect.TypeFor[ClipLink]():        "ClipLink",
	reflect.TypeFor[SelfTest]():        "SelfTest",
	reflect.TypeFor[SelfTestCheck]():   "SelfTestCheck",
	reflect.TypeFor[SelfTestArgs]():    "SelfTestArgs",
	reflect.TypeFor[UpdateArgs]():      "UpdateArgs",
	reflect.TypeFor[snapshot]():        "EventIncident",
	reflect.TypeFor[snapshotMessage](): "IncidentMessage",
}

func TestAsyncAPISchemas(t *testing.T) {
	doc := loadDoc(t)
	for typ, name := range schemaNames {
		t.Run(name, func(t *testing.T) {
			checkStruct(t, doc, name, typ)
		})
	}
}

// checkStruct checks that schema name has exactly typ's JSON fields as
// properties, the right ones required, each of the right JSON type.
func checkStruct(t *testing.T, doc map[string]any, name string, typ reflect.Type) {
	s := schemaByName(t, doc, name)
	fields := jsonFields(t, typ)
	props := obj(t, s, "properties")
	var goNames, goRequired []string
	for _, f := range fields {
		goNames = append(goNames, f.name)
		if !f.optional {
			goRequired = append(goRequired, f.name)
		}
	}
	if missing := minus(goNames, keys(props)); len(missing) > 0 {
		t.Errorf("schema %s: properties %v of Go type %s are not documented", name, missing, typ.Name())
	}
	if extra := minus(keys(props), goNames); len(extra) > 0 {
		t.Errorf("schema %s: properties %v are not in Go type %s", name, extra, typ.Name())
	}
	got, want := sorted(strs(t, s["required"])), sorted(goRequired)
	if !slices.Equal(got, want) {
		t.Errorf("schema %s: required = %v, want %v (the fields without omitempty/omitzero)", name, got, want)
	}
	for _, f := range fields {
		if p, ok := props[f.name].(map[string]any); ok {
			checkType(t, name+"."+f.name, p, f.typ)
		}
	}
}

type jsonField struct {
	name     string
	optional bool // omitempty or omitzero
	typ      reflect.Type
}

// jsonFields lists the fields encoding/json writes for typ.
func jsonFields(t *testing.T, typ reflect.Type) []jsonField {
	var out []jsonField
	for i := range typ.NumField() {
		f := typ.Field(i)
		if f.Anonymous {
			t.Fatalf("%s.%s: embedded fields are not handled by this test", typ.Name(), f.Name)
		}
		tag := f.Tag.Get("json")
		if !f.IsExported() || tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if name == "" {
			name = f.Name
		}
		optional := slices.ContainsFunc(strings.Split(opts, ","), func(o string) bool {
			return o == "omitempty" || o == "omitzero"
		})
		out = append(out, jsonField{name: name, optional: optional, typ: f.Type})
	}
	return out
}

// checkType checks that property p describes values of Go type typ.
func checkType(t *testing.T, where string, p map[string]any, typ reflect.Type) {
	t.Helper()
	for typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
	}
	switch {
	case typ == reflect.TypeFor[time.Time]():
		if p["type"] != "string" || p["format"] != "date-time" {
			t.Errorf("%s: type %v format %v, want a date-time string", where, p["type"], p["format"])
		}
		return
	case typ == reflect.TypeFor[json.RawMessage]():
		if p["type"] != "object" {
			t.Errorf("%s: type %v, want object", where, p["type"])
		}
		return
	}
	want := ""
	switch typ.Kind() {
	case reflect.Struct:
		if got, want := p["$ref"], "#/components/schemas/"+schemaNames[typ]; got != want {
			t.Errorf("%s: $ref %v, want %s", where, got, want)
		}
		return
	case reflect.Slice:
		want = "array"
		if items, ok := p["items"].(map[string]any); ok {
			checkType(t, where+"[]", items, typ.Elem())
		} else {
			t.Errorf("%s: array without items", where)
		}
	case reflect.String:
		want = "string"
	case reflect.Bool:
		want = "boolean"
	case reflect.Float32, reflect.Float64:
		want = "number"
	case reflect.Int, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint32, reflect.Uint64:
		want = "integer"
	default:
		t.Fatalf("%s: Go kind %s is not handled by this test", where, typ.Kind())
	}
	if p["type"] != want {
		t.Errorf("%s: type %v, want %s", where, p["type"], want)
	}
}

// TestAsyncAPIChannels checks that every Topics method has its channel, and
// every channel its topic, parameter and operations.
func TestAsyncAPIChannels(t *testing.T) {
	doc := loadDoc(t)
	const id = "kiosk-id-placeholder"
	topics, err := NewTopics(DefaultRoot, id)
	if err != nil {
		t.Fatal(err)
	}
	channels := obj(t, doc, "channels")
	byAddress := map[string]string{}
	for key := range channels {
		byAddress[obj(t, channels, key)["address"].(string)] = key
	}
	used := map[string]bool{}
	typ := reflect.TypeOf(topics)
	for i := range typ.NumMethod() {
		m := typ.Method(i)
		if m.Name == "Root" {
			continue
		}
		if m.Type.NumIn() != 1 || m.Type.NumOut() != 1 || m.Type.Out(0).Kind() != reflect.String {
			t.Errorf("Topics.%s: not a topic method (func() string); teach this test about it", m.Name)
			continue
		}
		topic := m.Func.Call([]reflect.Value{reflect.ValueOf(topics)})[0].String()
		addr := strings.Replace(topic, id, "{kiosk_id}", 1)
		key, ok := byAddress[addr]
		if !ok {
			t.Errorf("Topics.%s: no channel with address %s", m.Name, addr)
		}
		used[key] = true
	}
	for addr, key := range byAddress {
		if !used[key] {
			t.Errorf("channel %s (%s): no Topics method gives it", key, addr)
		}
		if !strings.HasPrefix(addr, DefaultRoot) {
			t.Errorf("channel %s: address %s, want under %s", key, addr, DefaultRoot)
		}
		ref := obj(t, obj(t, obj(t, channels, key), "parameters"), "kiosk_id")["$ref"]
		if ref != "#/components/parameters/kiosk_id" {
			t.Errorf("channel %s: kiosk_id parameter $ref %v", key, ref)
		}
	}
	param := obj(t, obj(t, obj(t, doc, "components"), "parameters"), "kiosk_id")
	if got, want := param["x-pattern"], kioskIDPattern.String(); got != want {
		t.Errorf("kiosk_id x-pattern = %v, want %s", got, want)
	}
	checkOperations(t, doc)
}

// checkOperations checks direction, QoS and retain of every channel's
// operations against what cloudlink does.
func checkOperations(t *testing.T, doc map[string]any) {
	type op struct {
		action string
		qos    int
		retain bool
	}
	want := map[string]op{
		"status":    {"send", 1, true},
		"events":    {"send", 1, false},
		"ack":       {"receive", 1, false},
		"cmd":       {"receive", 1, false},
		"cmdReply":  {"send", 1, false},
		"state":     {"send", 1, true},
		"heartbeat": {"send", 1, true},
		"cameras":   {"send", 1, true},
	}
	ops := obj(t, doc, "operations")
	seen := map[string]bool{}
	for name := range ops {
		o := obj(t, ops, name)
		ch := strings.TrimPrefix(obj(t, o, "channel")["$ref"].(string), "#/channels/")
		mq := obj(t, obj(t, o, "bindings"), "mqtt")
		qos, _ := strconv.Atoi(string(mq["qos"].(json.Number)))
		got := op{o["action"].(string), qos, mq["retain"] == true}
		if w, ok := want[ch]; !ok || got != w {
			t.Errorf("operation %s on %s: %+v, want %+v", name, ch, got, w)
		}
		seen[ch] = true
	}
	for ch := range want {
		if !seen[ch] {
			t.Errorf("channel %s: no operation", ch)
		}
	}
}

// TestAsyncAPIEnums checks the document's enums against the constants.
func TestAsyncAPIEnums(t *testing.T) {
	doc := loadDoc(t)
	codes := consts(t, "Err")
	if got, want := strs(t, prop(t, doc, "ReplyError", "code")["enum"]), values(codes); !slices.Equal(sorted(got), sorted(want)) {
		t.Errorf("ReplyError.code enum = %v, want the Err constants %v", got, want)
	}
	descs := obj(t, prop(t, doc, "ReplyError", "code"), "x-enumDescriptions")
	if got, want := sorted(keys(descs)), sorted(values(codes)); !slices.Equal(got, want) {
		t.Errorf("ReplyError.code x-enumDescriptions = %v, want %v", got, want)
	}
	cmds := consts(t, "Cmd")
	if got, want := strs(t, prop(t, doc, "Command", "name")["enum"]), values(cmds); !slices.Equal(sorted(got), sorted(want)) {
		t.Errorf("Command.name enum = %v, want the Cmd constants %v", got, want)
	}
	for _, c := range cmds {
		// The comment of each Cmd constant names its args type.
		then := conditional(t, doc, "Command", "name", c.value)
		if got, want := argsRef(then), "#/components/schemas/"+c.comment; got != want {
			t.Errorf("Command %s: args $ref %q, want %q", c.value, got, want)
		}
	}
	states := []string{Online, Offline, Stopped}
	if got := strs(t, prop(t, doc, "Availability", "state")["enum"]); !slices.Equal(sorted(got), sorted(states)) {
		t.Errorf("Availability.state enum = %v, want %v", got, states)
	}
	for _, name := range []string{"Event", "Command", "SignedCommand", "Reply", "Availability", "State", "Heartbeat", "Ack"} {
		if got := prop(t, doc, name, "v")["const"]; got != json.Number(strconv.Itoa(SchemaVersion)) {
			t.Errorf("%s.v const = %v, want %d", name, got, SchemaVersion)
		}
	}
	info := obj(t, doc, "info")
	if got, want := info["version"], strconv.Itoa(SchemaVersion); got != want {
		t.Errorf("info.version = %v, want %s", got, want)
	}
}

func argsRef(then map[string]any) string {
	p, _ := then["properties"].(map[string]any)
	a, _ := p["args"].(map[string]any)
	s, _ := a["$ref"].(string)
	return s
}

// TestAsyncAPIEventTypes checks Event.type and the per-type data schemas
// against EventTypes.
func TestAsyncAPIEventTypes(t *testing.T) {
	doc := loadDoc(t)
	var names []string
	for _, et := range EventTypes {
		names = append(names, et.Name)
	}
	if got := strs(t, prop(t, doc, "Event", "type")["enum"]); !slices.Equal(got, names) {
		t.Errorf("Event.type enum = %v, want EventTypes %v", got, names)
	}
	for _, et := range EventTypes {
		want := slices.Clone(et.Data)
		if et.Incident {
			want = append(want, "incident")
		}
		s := schemaByName(t, doc, "data."+et.Name)
		if got := keys(obj(t, s, "properties")); !slices.Equal(sorted(got), sorted(want)) {
			t.Errorf("data.%s properties = %v, want %v", et.Name, sorted(got), sorted(want))
		}
		if got := strs(t, s["required"]); !slices.Equal(sorted(got), sorted(want)) {
			t.Errorf("data.%s required = %v, want %v", et.Name, sorted(got), sorted(want))
		}
		if et.Incident {
			if got := obj(t, obj(t, s, "properties"), "incident")["$ref"]; got != "#/components/schemas/EventIncident" {
				t.Errorf("data.%s.incident $ref = %v, want EventIncident", et.Name, got)
			}
		}
		then := conditional(t, doc, "Event", "type", et.Name)
		p, _ := then["properties"].(map[string]any)
		if got := obj(t, p, "data")["$ref"]; got != "#/components/schemas/data."+et.Name {
			t.Errorf("Event type %s: data $ref %v", et.Name, got)
		}
		if got := slices.Contains(strs(t, then["required"]), "incident"); got != et.Incident {
			t.Errorf("Event type %s: requires incident = %v, want %v", et.Name, got, et.Incident)
		}
	}
}

// conditional finds, in schema name's allOf, the then of the condition
// field == value.
func conditional(t *testing.T, doc map[string]any, name, field, value string) map[string]any {
	t.Helper()
	all, _ := schemaByName(t, doc, name)["allOf"].([]any)
	for _, c := range all {
		c, _ := c.(map[string]any)
		cond, _ := c["if"].(map[string]any)
		p, _ := cond["properties"].(map[string]any)
		f, _ := p[field].(map[string]any)
		if f["const"] == value {
			return obj(t, c, "then")
		}
	}
	t.Fatalf("schema %s: no allOf condition for %s = %s", name, field, value)
	return nil
}

func TestAsyncAPIRefsResolve(t *testing.T) {
	doc := loadDoc(t)
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch v := v.(type) {
		case map[string]any:
			if ref, ok := v["$ref"].(string); ok && resolve(doc, ref) == nil {
				t.Errorf("%s: $ref %s does not resolve", path, ref)
			}
			for k, e := range v {
				walk(path+"/"+k, e)
			}
		case []any:
			for i, e := range v {
				walk(path+"/"+strconv.Itoa(i), e)
			}
		}
	}
	walk("#", doc)
	if got := loadDoc(t)["asyncapi"]; got != "3.0.0" {
		t.Errorf("asyncapi = %v, want 3.0.0", got)
	}
	b := AsyncAPI()
	b[0] = 'x'
	if AsyncAPI()[0] == 'x' {
		t.Error("AsyncAPI returns the embedded slice itself; a caller can change it")
	}
}
