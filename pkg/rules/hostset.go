package rules

import "net/http"

// minHostSet is the number of exact Host alternatives in one "||" from
// which a map lookup beats testing them one by one.
const minHostSet = 4

// hostSetMatcher matches any of many exact host names with one map lookup.
// Rules listing many hosts are common after migrating Traefik v2's
// Host(`a`, `b`, ...) to v3's Host(`a`) || Host(`b`) || ...
type hostSetMatcher struct {
	names map[string]struct{}
	// patterns keeps the rule's order so Hosts() is deterministic.
	patterns []string
}

func (m *hostSetMatcher) match(req *http.Request) bool {
	host := requestHost(req)
	// Lower-case into a stack buffer: indexing a map with string(bytes)
	// does not allocate, so neither does the common case here.
	var buf [255]byte
	if len(host) > len(buf) {
		_, ok := m.names[lowerASCII(host)]
		return ok
	}
	b := buf[:len(host)]
	for i := 0; i < len(host); i++ {
		c := host[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b[i] = c
	}
	_, ok := m.names[string(b)]
	return ok
}

// groupHosts replaces the exact Host alternatives of an "||" with a single
// hostSetMatcher when there are enough of them. Matchers have no side
// effects, so evaluating the alternatives in another order is safe.
func groupHosts(ms orMatcher) matcher {
	n := 0
	for _, m := range ms {
		if h, ok := m.(*hostMatcher); ok && !h.wildcard {
			n++
		}
	}
	if n < minHostSet {
		return ms
	}
	set := &hostSetMatcher{names: make(map[string]struct{}, n)}
	rest := orMatcher{set}
	for _, m := range ms {
		h, ok := m.(*hostMatcher)
		if !ok || h.wildcard {
			rest = append(rest, m)
			continue
		}
		if _, dup := set.names[h.pattern]; !dup {
			set.names[h.pattern] = struct{}{}
			set.patterns = append(set.patterns, h.pattern)
		}
	}
	if len(rest) == 1 {
		return set
	}
	return rest
}
