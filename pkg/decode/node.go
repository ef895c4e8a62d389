package decode

import (
	"fmt"
	"strconv"
	"strings"
)

// Node is one key of a configuration tree. A node is a leaf (Value) unless
// it has Children or is a List; an empty section ("routers: {}") is a leaf
// with an empty Value, which every section type accepts.
type Node struct {
	// Name is the key as written ("loadbalancer", "web"). List items are
	// named by their index ("0") and indexed keys by "[0]".
	Name string
	// Value is the leaf value as written.
	Value string
	// Children are the keys under this one, or the items of a list.
	Children []*Node
	// List is true when Children are list items rather than keys.
	List bool
	// Pos says where the key was written: "dynamic.yml:14:7",
	// "flag --entryPoints.web.address", "env TRAEFIK_LOG_LEVEL" or
	// `container "x" label "traefik.http.routers.web.rule"`.
	Pos string
}

// IsLeaf reports whether the node holds a value rather than keys or items.
func (n *Node) IsLeaf() bool { return len(n.Children) == 0 && !n.List }

// Child returns the child whose name equals name case-insensitively, or nil.
func (n *Node) Child(name string) *Node {
	for _, c := range n.Children {
		if strings.EqualFold(c.Name, name) {
			return c
		}
	}
	return nil
}

// Remove detaches and returns the first child whose name equals name
// case-insensitively, or nil. Callers use it to take out keys that are not
// part of the target type, such as --configFile.
func (n *Node) Remove(name string) *Node {
	for i, c := range n.Children {
		if strings.EqualFold(c.Name, name) {
			n.Children = append(n.Children[:i:i], n.Children[i+1:]...)
			return c
		}
	}
	return nil
}

// Entry is one flat key=value pair, such as a flag, an environment variable
// after resolution, or a container label.
type Entry struct {
	// Key is a dotted path; a part may carry indexes: "tls.domains[0].main".
	Key   string
	Value string
	// Pos is copied to every node the entry creates or sets.
	Pos string
}

// FromEntries builds a tree from flat entries. Key parts are merged
// case-insensitively, as Traefik's flags and labels are; the first spelling
// is kept. A later entry for the same key replaces the earlier value.
func FromEntries(entries []Entry) (*Node, error) {
	root := &Node{}
	for _, e := range entries {
		parts, err := SplitKey(e.Key)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", e.Pos, err)
		}
		insert(root, parts, e.Value, e.Pos)
	}
	return root, nil
}

// SplitKey splits "a.b[0].c" into "a", "b", "[0]", "c". It rejects empty
// parts and malformed indexes so that a typo is reported rather than
// silently creating an odd key.
func SplitKey(key string) ([]string, error) {
	if key == "" {
		return nil, fmt.Errorf("empty key")
	}
	var parts []string
	for _, p := range strings.Split(key, ".") {
		name, idx, hasIdx := strings.Cut(p, "[")
		if name == "" && !hasIdx || strings.ContainsRune(name, ']') {
			return nil, fmt.Errorf("invalid key %q: empty or malformed part %q", key, p)
		}
		if name != "" {
			parts = append(parts, name)
		}
		for hasIdx {
			var num string
			var ok bool
			num, idx, ok = strings.Cut(idx, "]")
			if _, err := strconv.Atoi(num); !ok || err != nil {
				return nil, fmt.Errorf("invalid key %q: index in %q must be a number in brackets", key, p)
			}
			parts = append(parts, "["+num+"]")
			if idx == "" {
				break
			}
			if idx[0] != '[' {
				return nil, fmt.Errorf("invalid key %q: unexpected %q after an index", key, idx)
			}
			idx = idx[1:]
		}
	}
	return parts, nil
}

// insert walks parts from root, creating nodes as needed, and sets the
// value of the last one.
func insert(root *Node, parts []string, value, pos string) {
	n := root
	for _, p := range parts {
		c := n.Child(p)
		if c == nil {
			c = &Node{Name: p, Pos: pos}
			n.Children = append(n.Children, c)
		}
		n = c
	}
	n.Value = value
	n.Pos = pos
}

// parseIndex reads a list index written "[3]" or "3".
func parseIndex(name string) (int, bool) {
	s := strings.TrimSuffix(strings.TrimPrefix(name, "["), "]")
	if s == "" || len(s) != len(name) && len(s) != len(name)-2 {
		return 0, false
	}
	i, err := strconv.Atoi(s)
	return i, err == nil && i >= 0
}
