package decode

import (
	"errors"
	"sort"
	"strconv"
	"strings"

	"github.com/pelletier/go-toml/v2"
	"github.com/pelletier/go-toml/v2/unstable"
)

// FromTOML parses a TOML document into a tree whose keys carry their
// "file:line:col" position. A syntax error is a *SyntaxError with line and
// column.
func FromTOML(filename string, data []byte) (*Node, error) {
	// The full decoder checks what the AST parser does not (duplicate
	// keys, redefined tables) and reports the position of the error.
	var check map[string]any
	if err := toml.Unmarshal(data, &check); err != nil {
		var de *toml.DecodeError
		if errors.As(err, &de) {
			line, col := de.Position()
			return nil, &SyntaxError{File: filename, Line: line, Col: col, Msg: "invalid TOML: " + strings.TrimPrefix(de.Error(), "toml: ")}
		}
		return nil, &SyntaxError{File: filename, Msg: "invalid TOML: " + strings.TrimPrefix(err.Error(), "toml: ")}
	}
	c := &tomlConv{file: filename, lines: lineStarts(data)}
	root := &Node{Pos: filename, Children: []*Node{}}
	cur := root
	var p unstable.Parser
	p.Reset(data)
	for p.NextExpression() {
		e := p.Expression()
		switch e.Kind {
		case unstable.Table:
			cur, _ = c.walk(root, e.Key(), false)
		case unstable.ArrayTable:
			list, pos := c.walk(root, e.Key(), false)
			list.List = true
			item := &Node{Name: strconv.Itoa(len(list.Children)), Pos: pos, Children: []*Node{}}
			list.Children = append(list.Children, item)
			cur = item
		case unstable.KeyValue:
			n, _ := c.walk(cur, e.Key(), true)
			c.value(n, e.Value())
		}
	}
	if err := p.Error(); err != nil {
		return nil, &SyntaxError{File: filename, Msg: "invalid TOML: " + err.Error()}
	}
	return root, nil
}

type tomlConv struct {
	file  string
	lines []int // offset of the start of each line
}

func lineStarts(data []byte) []int {
	starts := []int{0}
	for i, b := range data {
		if b == '\n' {
			starts = append(starts, i+1)
		}
	}
	return starts
}

func (c *tomlConv) pos(r unstable.Range) string {
	off := int(r.Offset)
	line := sort.Search(len(c.lines), func(i int) bool { return c.lines[i] > off }) - 1
	return c.file + ":" + strconv.Itoa(line+1) + ":" + strconv.Itoa(off-c.lines[line]+1)
}

// walk follows a dotted key from n, creating the nodes it lacks, and
// returns the last and the position of the last part as written here. A key that names an array of tables refers to its last
// table, as TOML specifies. When leaf is set, the last part is always a new
// position (a key = value line) and takes the key's position.
func (c *tomlConv) walk(n *Node, key unstable.Iterator, leaf bool) (*Node, string) {
	pos := n.Pos
	for key.Next() {
		k := key.Node()
		if n.List && len(n.Children) > 0 {
			n = n.Children[len(n.Children)-1]
		}
		name := string(k.Data)
		pos = c.pos(k.Raw)
		var next *Node
		for _, ch := range n.Children {
			if ch.Name == name {
				next = ch
				break
			}
		}
		if next == nil {
			next = &Node{Name: name, Pos: pos}
			n.Children = append(n.Children, next)
		} else if leaf && key.IsLast() {
			next.Pos = pos
		}
		n = next
	}
	return n, pos
}

func (c *tomlConv) value(dst *Node, v *unstable.Node) {
	switch v.Kind {
	case unstable.Array:
		dst.List = true
		dst.Children = []*Node{}
		for it := v.Children(); it.Next(); {
			item := it.Node()
			if item.Kind == unstable.Comment {
				continue
			}
			pos := dst.Pos
			if item.Raw.Length > 0 {
				pos = c.pos(item.Raw)
			}
			n := &Node{Name: strconv.Itoa(len(dst.Children)), Pos: pos}
			c.value(n, item)
			dst.Children = append(dst.Children, n)
		}
	case unstable.InlineTable:
		dst.Children = []*Node{}
		for it := v.Children(); it.Next(); {
			kv := it.Node()
			if kv.Kind != unstable.KeyValue {
				continue
			}
			n, _ := c.walk(dst, kv.Key(), true)
			c.value(n, kv.Value())
		}
	default:
		dst.Value = string(v.Data)
	}
}
