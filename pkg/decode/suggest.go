package decode

import (
	"fmt"
	"reflect"
	"strings"

	"github.com/berthproxy/berth/pkg/didyoumean"
)

// unknown builds the error for key c, which struct type t does not have.
func (d *Decoder) unknown(c *Node, path string, t reflect.Type) *Error {
	e := &Error{Pos: c.Pos, Path: join(path, c.Name), Key: c.Name}
	rel, covered := suggestPath(t, c)
	if rel == "" {
		e.Msg = fmt.Sprintf("unknown key %q", c.Name)
		if ns := names(t); len(ns) <= 12 {
			e.Msg += fmt.Sprintf(" (valid keys here: %s)", strings.Join(ns, ", "))
		}
		return e
	}
	e.Msg = fmt.Sprintf("unknown key %q; did you mean %q?", c.Name, rel)
	e.Suggestion = join(path, rel)
	// Append the single chain of keys that follows, so that a flag or an
	// environment variable can be suggested whole.
	n := c
	for i := 0; covered >= 0 && len(n.Children) == 1 && !n.List; i++ {
		n = n.Children[0]
		if i >= covered {
			e.Suggestion = join(e.Suggestion, n.Name)
		}
	}
	return e
}

// suggestPath finds what the unknown key c of struct type t probably meant,
// as a path relative to t. It first looks for a near spelling among t's own
// keys, then for the key (and the key that follows it) deeper under t, so
// that "services.web.server.url" suggests "loadBalancer.servers[0].url".
// covered is the number of c's child keys that the suggestion includes, or
// -1 when the keys under c do not fit the suggestion and must not be
// appended to it.
func suggestPath(t reflect.Type, c *Node) (rel string, covered int) {
	if len(c.Name) > 64 {
		return "", 0
	}
	next := ""
	if len(c.Children) > 0 && !c.List {
		next = c.Children[0].Name
	}
	fs := fieldsOf(t)
	best := Suggest(c.Name, names(t))
	if best != "" && (next == "" || accepts(fs.lookup(best).typ, next)) {
		return best, 0
	}
	if deep, withNext := deepSearch(t, c.Name, next); deep != "" {
		if withNext {
			return deep, 1
		}
		if best == "" {
			return deep, -1
		}
	}
	return best, -1
}

// accepts reports whether a value of type t has the key name.
func accepts(t reflect.Type, name string) bool {
	t = deref(t)
	switch t.Kind() {
	case reflect.Map:
		return true
	case reflect.Slice:
		_, ok := parseIndex(name)
		return ok || accepts(t.Elem(), name)
	case reflect.Struct:
		return fieldsOf(t).lookup(name) != nil
	}
	return false
}

// maxSearchDepth bounds the search for a key deeper in the type; config
// types nest deeply and a suggestion five levels away would be a guess.
const maxSearchDepth = 4

// deepSearch looks for a key spelled like name at depth 2 to maxSearchDepth
// under struct type t, preferring one under which next is a valid key.
// Maps are not entered: their keys are names, not fields.
func deepSearch(t reflect.Type, name, next string) (path string, withNext bool) {
	type node struct {
		path string
		t    reflect.Type
	}
	level := []node{{"", t}}
	fallback := ""
	for depth := 1; depth <= maxSearchDepth && len(level) > 0; depth++ {
		var nextLevel []node
		for _, n := range level {
			for _, f := range fieldsOf(n.t).list {
				p := join(n.path, f.name)
				// Keys under a list of sections are those of its
				// first item.
				inner, ft := p, deref(f.typ)
				if ft.Kind() == reflect.Slice {
					inner, ft = p+"[0]", deref(ft.Elem())
				}
				if depth >= 2 && didyoumean.Similar(name, f.name) {
					if next != "" && ft.Kind() == reflect.Struct {
						if nf := fieldsOf(ft).lookup(next); nf != nil {
							return join(inner, nf.name), true
						}
					}
					if fallback == "" {
						fallback = p
					}
				}
				if ft.Kind() == reflect.Struct {
					nextLevel = append(nextLevel, node{inner, ft})
				}
			}
		}
		level = nextLevel
	}
	return fallback, false
}

// Suggest returns the candidate closest to word (case-insensitively) if it
// is close enough to be a likely typo, or "".
func Suggest(word string, candidates []string) string {
	return didyoumean.Closest(word, candidates)
}
