package decode

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Limits that keep hostile or broken YAML from exhausting memory or stack:
// aliases can expand a small document exponentially ("billion laughs").
const (
	maxYAMLDepth = 100
	maxYAMLNodes = 200_000
)

// FromYAML parses a YAML document into a tree whose keys carry their
// "file:line:col" position. Only the first document of a stream is read, as
// Traefik does. A syntax error is a *SyntaxError naming file and line.
func FromYAML(filename string, data []byte) (*Node, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, yamlSyntaxError(filename, data, err)
	}
	root := &Node{Pos: filename}
	if len(doc.Content) == 0 {
		return root, nil
	}
	c := &yamlConv{file: filename, active: map[*yaml.Node]bool{}}
	if err := c.fill(root, doc.Content[0], 0); err != nil {
		return nil, err
	}
	return root, nil
}

// yamlLine matches yaml.v3's "yaml: line 3: message" errors.
var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

func yamlSyntaxError(file string, data []byte, err error) error {
	msg := err.Error()
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		e := &SyntaxError{File: file, Line: line, Msg: "invalid YAML: " + m[2]}
		if at := problemLine(data, line, m[2]); at > line {
			e.Line = at
		}
		return e
	}
	return &SyntaxError{File: file, Msg: "invalid YAML: " + strings.TrimPrefix(msg, "yaml: ")}
}

// problemLine finds the line at fault for a yaml.v3 error. yaml.v3 reports
// the line where the enclosing block starts, which can be far above the
// mistake; the first prefix of the document that fails with the same
// message ends on the line at fault. Only a bounded number of lines is
// tried so that a huge file cannot make this quadratic.
func problemLine(data []byte, from int, msg string) int {
	lines := strings.SplitAfter(string(data), "\n")
	for k := from; k <= len(lines) && k < from+500; k++ {
		var n yaml.Node
		err := yaml.Unmarshal([]byte(strings.Join(lines[:k], "")), &n)
		if m := yamlLine.FindStringSubmatch(fmt.Sprint(err)); m != nil && m[2] == msg {
			return k
		}
	}
	return 0
}

type yamlConv struct {
	file   string
	nodes  int
	active map[*yaml.Node]bool // aliases being expanded, to catch cycles
}

func (c *yamlConv) pos(y *yaml.Node) string {
	return fmt.Sprintf("%s:%d:%d", c.file, y.Line, y.Column)
}

func (c *yamlConv) fill(dst *Node, y *yaml.Node, depth int) error {
	c.nodes++
	if depth > maxYAMLDepth || c.nodes > maxYAMLNodes {
		return &SyntaxError{File: c.file, Line: y.Line, Col: y.Column, Msg: "document is nested too deeply or too large (after expanding aliases)"}
	}
	switch y.Kind {
	case yaml.DocumentNode:
		if len(y.Content) > 0 {
			return c.fill(dst, y.Content[0], depth+1)
		}
	case yaml.AliasNode:
		if y.Alias == nil || c.active[y.Alias] {
			return &SyntaxError{File: c.file, Line: y.Line, Col: y.Column, Msg: fmt.Sprintf("alias %q refers to itself", y.Value)}
		}
		c.active[y.Alias] = true
		defer delete(c.active, y.Alias)
		return c.fill(dst, y.Alias, depth+1)
	case yaml.ScalarNode:
		if y.Tag != "!!null" {
			dst.Value = y.Value
		}
	case yaml.SequenceNode:
		dst.List = true
		dst.Children = make([]*Node, 0, len(y.Content))
		for i, item := range y.Content {
			n := &Node{Name: strconv.Itoa(i), Pos: c.pos(item)}
			if err := c.fill(n, item, depth+1); err != nil {
				return err
			}
			dst.Children = append(dst.Children, n)
		}
	case yaml.MappingNode:
		return c.mapping(dst, y, depth)
	}
	return nil
}

func (c *yamlConv) mapping(dst *Node, y *yaml.Node, depth int) error {
	dst.Children = make([]*Node, 0, len(y.Content)/2)
	var merged []*Node
	for i := 0; i+1 < len(y.Content); i += 2 {
		k, v := y.Content[i], y.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.Tag == "!!merge" {
			// "<<: *defaults" merges keys that are not set explicitly.
			m := &Node{}
			if err := c.fill(m, v, depth+1); err != nil {
				return err
			}
			if m.List {
				for _, item := range m.Children {
					merged = append(merged, item.Children...)
				}
			} else {
				merged = append(merged, m.Children...)
			}
			continue
		}
		if k.Kind != yaml.ScalarNode {
			return &SyntaxError{File: c.file, Line: k.Line, Col: k.Column, Msg: "keys must be plain strings"}
		}
		n := &Node{Name: k.Value, Pos: c.pos(k)}
		if err := c.fill(n, v, depth+1); err != nil {
			return err
		}
		dst.Children = append(dst.Children, n)
	}
	for _, m := range merged {
		if dst.Child(m.Name) == nil {
			dst.Children = append(dst.Children, m)
		}
	}
	return nil
}
