package contract

import (
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestAsyncAPIExamplesValidate checks every example against its message's
// schema, strictly: a property the schema does not list is an error, so an
// example can only carry documented fields.
func TestAsyncAPIExamplesValidate(t *testing.T) {
	doc := loadDoc(t)
	msgs := obj(t, obj(t, doc, "components"), "messages")
	for name := range msgs {
		m := obj(t, msgs, name)
		payload := obj(t, m, "payload")
		exs, _ := m["examples"].([]any)
		if len(exs) == 0 {
			t.Errorf("message %s: no examples", name)
		}
		for i, e := range exs {
			e, _ := e.(map[string]any)
			where := fmt.Sprintf("%s example %d (%v)", name, i, e["name"])
			for _, p := range validate(doc, payload, e["payload"], where, true) {
				t.Error(p)
			}
		}
	}
	// Every event type and every command has an example.
	types := map[string]bool{}
	for _, e := range obj(t, msgs, "Event")["examples"].([]any) {
		types[e.(map[string]any)["payload"].(map[string]any)["type"].(string)] = true
	}
	for _, et := range EventTypes {
		if !types[et.Name] {
			t.Errorf("event type %s: no example", et.Name)
		}
	}
}

// validate checks v against schema s, for the keywords this document uses:
// $ref, type, format date-time, pattern, minLength, maxLength, minimum, minItems, enum,
// const, properties, required, items, allOf and if/then. With strict, an
// object may only have the properties its schema lists (when it lists any).
func validate(doc, s map[string]any, v any, where string, strict bool) []string {
	return check(doc, s, v, where, strict, strict)
}

// check is validate; keys says whether to check v's own keys (not in an
// allOf branch, which documents only part of them).
func check(doc, s map[string]any, v any, where string, strict, keys bool) []string {
	if ref, ok := s["$ref"].(string); ok {
		return check(doc, resolve(doc, ref), v, where, strict, keys)
	}
	var errs []string
	bad := func(format string, args ...any) { errs = append(errs, where+": "+fmt.Sprintf(format, args...)) }
	if typ, ok := s["type"].(string); ok && !hasType(v, typ) {
		bad("%v is not of type %s", v, typ)
		return errs
	}
	if c, ok := s["const"]; ok && fmt.Sprint(c) != fmt.Sprint(v) {
		bad("%v, want %v", v, c)
	}
	if e, ok := s["enum"].([]any); ok && !slices.ContainsFunc(e, func(x any) bool { return fmt.Sprint(x) == fmt.Sprint(v) }) {
		bad("%v not in enum %v", v, e)
	}
	errs = append(errs, validateValue(s, v, where)...)
	switch v := v.(type) {
	case map[string]any:
		errs = append(errs, validateObject(doc, s, v, where, strict)...)
		if keys {
			errs = append(errs, undocumented(doc, s, v, where)...)
		}
	case []any:
		if items, ok := s["items"].(map[string]any); ok {
			for i, e := range v {
				errs = append(errs, validate(doc, items, e, fmt.Sprintf("%s[%d]", where, i), strict)...)
			}
		}
	}
	for _, sub := range anySlice(s["allOf"]) {
		sub, _ := sub.(map[string]any)
		cond, hasIf := sub["if"].(map[string]any)
		if !hasIf {
			errs = append(errs, check(doc, sub, v, where, strict, false)...)
			continue
		}
		if len(validate(doc, cond, v, where, false)) == 0 {
			then, _ := sub["then"].(map[string]any)
			errs = append(errs, check(doc, then, v, where, strict, false)...)
		}
	}
	return errs
}

func validateValue(s map[string]any, v any, where string) []string {
	var errs []string
	if str, ok := v.(string); ok {
		if s["format"] == "date-time" {
			if _, err := time.Parse(time.RFC3339Nano, str); err != nil {
				errs = append(errs, fmt.Sprintf("%s: %q is not a date-time", where, str))
			}
		}
		if p, ok := s["pattern"].(string); ok && !regexp.MustCompile(p).MatchString(str) {
			errs = append(errs, fmt.Sprintf("%s: %q does not match %s", where, str, p))
		}
		if n, ok := s["minLength"].(json.Number); ok && int64(len([]rune(str))) < mustInt(n) {
			errs = append(errs, fmt.Sprintf("%s: %q shorter than %s", where, str, n))
		}
		if n, ok := s["maxLength"].(json.Number); ok && int64(len([]rune(str))) > mustInt(n) {
			errs = append(errs, fmt.Sprintf("%s: %q longer than %s", where, str, n))
		}
	}
	if num, ok := v.(json.Number); ok {
		if n, ok := s["minimum"].(json.Number); ok && mustInt(num) < mustInt(n) {
			errs = append(errs, fmt.Sprintf("%s: %s below minimum %s", where, num, n))
		}
	}
	if arr, ok := v.([]any); ok {
		if n, ok := s["minItems"].(json.Number); ok && int64(len(arr)) < mustInt(n) {
			errs = append(errs, fmt.Sprintf("%s: fewer than %s items", where, n))
		}
	}
	return errs
}

func validateObject(doc, s, v map[string]any, where string, strict bool) []string {
	var errs []string
	for _, r := range anySlice(s["required"]) {
		if _, ok := v[r.(string)]; !ok {
			errs = append(errs, fmt.Sprintf("%s: required property %s missing", where, r))
		}
	}
	props, ok := s["properties"].(map[string]any)
	if !ok {
		return errs
	}
	for k, e := range v {
		if p, ok := props[k].(map[string]any); ok {
			errs = append(errs, validate(doc, p, e, where+"."+k, strict)...)
		}
	}
	return errs
}

// undocumented lists the properties of v that neither s nor any of its
// applicable allOf branches lists, if they list any.
func undocumented(doc, s, v map[string]any, where string) []string {
	known := map[string]bool{}
	add := func(s map[string]any) {
		if ref, ok := s["$ref"].(string); ok {
			s = resolve(doc, ref)
		}
		p, _ := s["properties"].(map[string]any)
		for k := range p {
			known[k] = true
		}
	}
	add(s)
	for _, sub := range anySlice(s["allOf"]) {
		sub, _ := sub.(map[string]any)
		cond, hasIf := sub["if"].(map[string]any)
		switch {
		case !hasIf:
			add(sub)
		case len(validate(doc, cond, v, where, false)) == 0:
			then, _ := sub["then"].(map[string]any)
			add(then)
		}
	}
	var errs []string
	for k := range v {
		if len(known) > 0 && !known[k] {
			errs = append(errs, fmt.Sprintf("%s: property %s is not documented", where, k))
		}
	}
	return errs
}

func hasType(v any, typ string) bool {
	switch v := v.(type) {
	case string:
		return typ == "string"
	case bool:
		return typ == "boolean"
	case json.Number:
		_, err := v.Int64()
		return typ == "integer" && err == nil || typ == "number"
	case []any:
		return typ == "array"
	case map[string]any:
		return typ == "object"
	case nil:
		return typ == "null"
	}
	return false
}

func mustInt(n json.Number) int64 {
	i, err := n.Int64()
	if err != nil {
		panic(err)
	}
	return i
}

func anySlice(v any) []any { s, _ := v.([]any); return s }

// loadDoc decodes the embedded document, numbers as json.Number.
func loadDoc(t *testing.T) map[string]any {
	t.Helper()
	doc, ok := decode(t, AsyncAPI()).(map[string]any)
	if !ok {
		t.Fatal("asyncapi.json is not a JSON object")
	}
	return doc
}

// resolve follows a local $ref ("#/a/b"), or returns nil.
func resolve(doc map[string]any, ref string) map[string]any {
	path, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		return nil
	}
	var cur any = doc
	for _, k := range strings.Split(path, "/") {
		m, _ := cur.(map[string]any)
		cur = m[strings.NewReplacer("~1", "/", "~0", "~").Replace(k)]
	}
	m, _ := cur.(map[string]any)
	return m
}

func obj(t *testing.T, m map[string]any, key string) map[string]any {
	t.Helper()
	v, ok := m[key].(map[string]any)
	if !ok {
		t.Fatalf("asyncapi.json: no object %q here", key)
	}
	return v
}

func schemaByName(t *testing.T, doc map[string]any, name string) map[string]any {
	t.Helper()
	return obj(t, obj(t, obj(t, doc, "components"), "schemas"), name)
}

func prop(t *testing.T, doc map[string]any, schema, name string) map[string]any {
	t.Helper()
	return obj(t, obj(t, schemaByName(t, doc, schema), "properties"), name)
}

func strs(t *testing.T, v any) []string {
	t.Helper()
	var out []string
	for _, e := range anySlice(v) {
		s, ok := e.(string)
		if !ok {
			t.Fatalf("asyncapi.json: %v is not a string", e)
		}
		out = append(out, s)
	}
	return out
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func minus(a, b []string) []string {
	var out []string
	for _, s := range a {
		if !slices.Contains(b, s) {
			out = append(out, s)
		}
	}
	return out
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// constant is a string constant of this package, with its line comment.
type constant struct{ name, value, comment string }

// consts reads the exported string constants whose names start with prefix
// from the package's source, so that a new one cannot go unnoticed.
func consts(t *testing.T, prefix string) []constant {
	t.Helper()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	var out []constant
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			spec, ok := n.(*ast.ValueSpec)
			if !ok {
				return true
			}
			for i, id := range spec.Names {
				lit, ok := valueAt(spec, i).(*ast.BasicLit)
				if !strings.HasPrefix(id.Name, prefix) || !ok || lit.Kind != token.STRING {
					continue
				}
				v, _ := strconv.Unquote(lit.Value)
				out = append(out, constant{id.Name, v, strings.TrimSpace(spec.Comment.Text())})
			}
			return true
		})
	}
	if len(out) == 0 {
		t.Fatalf("no constants %s*", prefix)
	}
	return out
}

func valueAt(spec *ast.ValueSpec, i int) ast.Expr {
	if i < len(spec.Values) {
		return spec.Values[i]
	}
	return nil
}

func values(cs []constant) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.value)
	}
	return out
}
