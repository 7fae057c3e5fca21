package config

import (
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/pelletier/go-toml/v2/unstable"
)

// go-toml stops at its first mistake, names keys without array indices and
// reports type mismatches without a line. So before decoding, scan walks the
// syntax tree against the Config struct itself: it reports every unknown key
// and mistyped value at once as "line 14: buttons[2].long_press: ...", and
// records the line of each key so Validate's problems can point there too.

type scanner struct {
	p      unstable.Parser
	lines  map[string]int // key path ("buttons[1].pin") → its line
	arrays map[string]int // array-of-tables path → entries seen so far
	probs  []error
}

// table is the struct that keys under a header or inline table belong to,
// and its key path. t is nil inside an unknown table.
type table struct {
	t    reflect.Type
	path string
}

var (
	configType   = reflect.TypeFor[Config]()
	durationType = reflect.TypeFor[Duration]()
	sizeType     = reflect.TypeFor[Size]()
)

// scan expects data to be valid TOML; Parse checks that first.
func scan(data []byte) (map[string]int, []error) {
	s := &scanner{lines: map[string]int{}, arrays: map[string]int{}}
	s.p.Reset(data)
	cur := table{t: configType}
	for s.p.NextExpression() {
		n := s.p.Expression()
		switch n.Kind {
		case unstable.Table, unstable.ArrayTable:
			cur = s.header(n)
		case unstable.KeyValue:
			if cur.t != nil {
				s.keyValue(cur, n)
			}
		}
	}
	return s.lines, s.probs
}

func (s *scanner) add(line int, path, format string, args ...any) {
	s.probs = append(s.probs, &problem{line: line, path: path, msg: fmt.Sprintf(format, args...)})
}

func (s *scanner) mark(path string, line int) {
	if _, ok := s.lines[path]; !ok {
		s.lines[path] = line
	}
}

// header resolves a [table] or [[array]] header from the root.
func (s *scanner) header(n *unstable.Node) table {
	cur := table{t: configType}
	for it := n.Key(); it.Next(); {
		k := it.Node()
		line := s.p.Shape(k.Raw).Start.Line
		f, ok := fieldFor(cur.t, string(k.Data))
		if !ok {
			s.unknown(line, cur, string(k.Data))
			return table{}
		}
		path, t := join(cur.path, string(k.Data)), deref(f.Type)
		asArray := it.IsLast() && n.Kind == unstable.ArrayTable
		switch {
		case t.Kind() == reflect.Struct && !asArray:
			cur = table{t, path}
		case isTableArray(t) && (asArray || !it.IsLast()):
			if asArray {
				s.arrays[path]++
			}
			cur = table{deref(t.Elem()), fmt.Sprintf("%s[%d]", path, max(s.arrays[path]-1, 0))}
		default:
			s.mistyped(line, path, t, n.Kind)
			return table{}
		}
		s.mark(cur.path, line)
	}
	return cur
}

// keyValue checks a possibly dotted key = value under cur.
func (s *scanner) keyValue(cur table, n *unstable.Node) {
	for it := n.Key(); it.Next(); {
		k := it.Node()
		line := s.p.Shape(k.Raw).Start.Line
		f, ok := fieldFor(cur.t, string(k.Data))
		if !ok {
			s.unknown(line, cur, string(k.Data))
			return
		}
		path := join(cur.path, string(k.Data))
		s.mark(path, line)
		if it.IsLast() {
			s.value(line, path, f.Type, n.Value())
			return
		}
		t := deref(f.Type)
		if t.Kind() != reflect.Struct {
			s.mistyped(line, path, t, unstable.InlineTable)
			return
		}
		cur = table{t, path}
	}
}

func (s *scanner) value(line int, path string, t reflect.Type, v *unstable.Node) {
	t = deref(t)
	switch {
	case t == durationType:
		s.duration(line, path, v)
		return
	case t == sizeType:
		s.size(line, path, v)
		return
	case t.Kind() == reflect.Struct && v.Kind == unstable.InlineTable:
		for it := v.Children(); it.Next(); {
			s.keyValue(table{t, path}, it.Node())
		}
		return
	case t.Kind() == reflect.Slice && v.Kind == unstable.Array:
		i := 0
		for it := v.Children(); it.Next(); i++ {
			elem := fmt.Sprintf("%s[%d]", path, i)
			s.mark(elem, line)
			s.value(line, elem, t.Elem(), it.Node())
		}
		return
	case scalarFits(t.Kind(), v.Kind):
		return
	}
	s.mistyped(line, path, t, v.Kind)
}

func (s *scanner) duration(line int, path string, v *unstable.Node) {
	if v.Kind == unstable.Integer || v.Kind == unstable.Float {
		s.add(line, path, "%s has no unit; write a quoted duration, like \"%sms\" or \"%ss\"", v.Data, v.Data, v.Data)
		return
	}
	if v.Kind != unstable.String {
		s.add(line, path, "must be a quoted duration, like \"30ms\", \"3s\" or \"5m\", not %s", describeKind(v.Kind))
		return
	}
	var d Duration
	if err := d.UnmarshalText(v.Data); err != nil {
		s.add(line, path, "%s", err)
	}
}

func (s *scanner) size(line int, path string, v *unstable.Node) {
	if v.Kind != unstable.String {
		s.add(line, path, "must be a quoted size, like \"64MiB\", not %s", describeKind(v.Kind))
		return
	}
	var z Size
	if err := z.UnmarshalText(v.Data); err != nil {
		s.add(line, path, "%s", err)
	}
}

// unknown reports a key the schema lacks, with what was probably meant.
func (s *scanner) unknown(line int, cur table, name string) {
	path, keys := join(cur.path, name), keysOf(cur.t)
	if slices.Contains(keys, name+"_file") {
		s.add(line, path, "secrets are never written in the config; put it in a file only kioskd can read and set %s to that file's absolute path",
			join(cur.path, name+"_file"))
		return
	}
	where := "at the top level"
	if cur.path != "" {
		where = "in " + cur.path
	}
	hint := ""
	if m := closest(name, keys); m != "" {
		hint = ", did you mean " + m + "?"
	}
	s.add(line, path, "unknown key; check the spelling%s (keys allowed %s: %s)", hint, where, strings.Join(keys, ", "))
}

func (s *scanner) mistyped(line int, path string, want reflect.Type, got unstable.Kind) {
	hint := ""
	switch {
	case want.Kind() == reflect.Struct && got == unstable.ArrayTable:
		hint = fmt.Sprintf("; write [%s], not [[%s]]", path, path)
	case isTableArray(want) && got == unstable.Table:
		hint = fmt.Sprintf("; write [[%s]] once for each entry", path)
	case want.Kind() == reflect.String && isScalar(got):
		hint = "; put the value in quotes"
	case got == unstable.String && (want.Kind() == reflect.Bool || want.Kind() == reflect.Int):
		hint = "; remove the quotes"
	}
	s.add(line, path, "must be %s, not %s%s", describeType(want), describeKind(got), hint)
}

func scalarFits(want reflect.Kind, got unstable.Kind) bool {
	switch want {
	case reflect.String:
		return got == unstable.String
	case reflect.Bool:
		return got == unstable.Bool
	case reflect.Int, reflect.Int64:
		return got == unstable.Integer
	}
	return false
}

func isScalar(k unstable.Kind) bool {
	switch k {
	case unstable.Table, unstable.ArrayTable, unstable.InlineTable, unstable.Array:
		return false
	}
	return true
}

func describeType(t reflect.Type) string {
	switch {
	case isTableArray(t):
		return "an array of tables"
	case t.Kind() == reflect.Struct:
		return "a table"
	case t.Kind() == reflect.Slice:
		return "an array"
	case t.Kind() == reflect.String:
		return "a string"
	case t.Kind() == reflect.Bool:
		return "true or false"
	case t.Kind() == reflect.Int || t.Kind() == reflect.Int64:
		return "a whole number"
	}
	return t.String()
}

func describeKind(k unstable.Kind) string {
	switch k {
	case unstable.String:
		return "a string"
	case unstable.Bool:
		return "true or false"
	case unstable.Integer:
		return "a whole number"
	case unstable.Float:
		return "a decimal number"
	case unstable.Array:
		return "an array"
	case unstable.ArrayTable:
		return "an array of tables"
	case unstable.Table, unstable.InlineTable:
		return "a table"
	}
	return "a date or time"
}
