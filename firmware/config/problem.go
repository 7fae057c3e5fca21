package config

import (
	"errors"
	"fmt"
	"strings"

	"github.com/pelletier/go-toml/v2"
)

// problem is one thing wrong with a config: the key path, the line it is on
// when known, and what to do about it.
type problem struct {
	line int
	path string // e.g. "buttons[2].long_press"; empty for whole-file problems
	msg  string
}

func (p *problem) Error() string {
	s := p.msg
	if p.path != "" {
		s = p.path + ": " + s
	}
	if p.line > 0 {
		s = fmt.Sprintf("line %d: %s", p.line, s)
	}
	return s
}

// problems collects problems for errors.Join.
type problems []error

func (ps *problems) add(path, format string, args ...any) {
	*ps = append(*ps, &problem{path: path, msg: fmt.Sprintf(format, args...)})
}

// locate gives each problem in err that has no line the line of its key, or
// of the nearest enclosing table present in the file, so that a missing
// buttons[1].pin points at its [[buttons]] header.
func locate(err error, lines map[string]int) error {
	j, ok := err.(interface{ Unwrap() []error })
	if !ok {
		return err
	}
	for _, e := range j.Unwrap() {
		if p, ok := e.(*problem); ok && p.line == 0 {
			p.line = lineOf(p.path, lines)
		}
	}
	return err
}

func lineOf(path string, lines map[string]int) int {
	for path != "" {
		if l, ok := lines[path]; ok {
			return l
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			break
		}
		path = path[:i]
	}
	return 0
}

// fromDecodeError turns go-toml's errors into problems with line numbers.
func fromDecodeError(err error, prefix string) error {
	var missing *toml.StrictMissingError
	if errors.As(err, &missing) {
		var ps problems
		for _, e := range missing.Errors {
			line, _ := e.Position()
			ps = append(ps, &problem{line: line, path: strings.Join(e.Key(), "."), msg: "unknown key; check the spelling"})
		}
		return errors.Join(ps...)
	}
	var de *toml.DecodeError
	if errors.As(err, &de) {
		line, col := de.Position()
		msg := fmt.Sprintf("%s%s (column %d)", prefix, strings.TrimPrefix(de.Error(), "toml: "), col)
		return errors.Join(&problem{line: line, msg: msg})
	}
	// go-toml reports some mistakes, such as a key defined twice, without
	// a position.
	return errors.Join(&problem{msg: prefix + strings.TrimPrefix(err.Error(), "toml: ")})
}

func tooNew(v int64) string {
	return fmt.Sprintf("this kioskd is too old for config version %d (it reads version %d); upgrade kioskd, or write the file for version %d", v, CurrentVersion, CurrentVersion)
}
