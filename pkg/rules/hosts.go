package rules

import (
	"slices"
	"strings"
)

// hostsOf computes the host patterns that cover every request m can match.
// ok is false when m can match a request of any host. The analysis is
// conservative: anything it cannot reason about, such as a negation or a
// HostRegexp, counts as matching any host, which is always safe for a host
// index because such a router is simply tried for every host.
func hostsOf(m matcher) (hosts []string, ok bool) {
	switch m := m.(type) {
	case *hostMatcher:
		return []string{m.pattern}, true
	case *hostSetMatcher:
		return m.patterns, true
	case orMatcher:
		// A request matching the disjunction matches one alternative, so
		// every alternative must be restricted and the result is the union.
		var union []string
		for _, sub := range m {
			hs, ok := hostsOf(sub)
			if !ok {
				return nil, false
			}
			for _, h := range hs {
				if !slices.Contains(union, h) {
					union = append(union, h)
				}
			}
		}
		return union, true
	case andMatcher:
		// A request matching the conjunction matches every operand, so any
		// restricted operand covers it; intersecting them is more precise.
		var acc []string
		found := false
		for _, sub := range m {
			hs, ok := hostsOf(sub)
			if !ok {
				continue
			}
			if !found {
				acc, found = hs, true
				continue
			}
			if both := intersectHosts(acc, hs); len(both) > 0 {
				acc = both
			} else if len(hs) < len(acc) {
				// No host satisfies both, so the rule never matches and
				// any operand's set is correct; keep the smaller one so
				// the router is indexed under as few hosts as possible.
				acc = hs
			}
		}
		return acc, found
	default:
		return nil, false
	}
}

// intersectHosts returns the patterns that cover every host matched by a
// pattern of a and by a pattern of b. An exact name survives if the other
// side has it or a wildcard covering it; a wildcard survives only if both
// sides have it, since two different single-label wildcards are disjoint.
func intersectHosts(a, b []string) []string {
	var out []string
	add := func(h string) {
		if !slices.Contains(out, h) {
			out = append(out, h)
		}
	}
	for _, h := range a {
		if slices.Contains(b, h) || (!isWildcard(h) && coveredByWildcard(h, b)) {
			add(h)
		}
	}
	for _, h := range b {
		if !isWildcard(h) && coveredByWildcard(h, a) {
			add(h)
		}
	}
	return out
}

func isWildcard(pattern string) bool { return strings.HasPrefix(pattern, "*.") }

// coveredByWildcard reports whether the exact host matches one of the
// single-label wildcards among patterns.
func coveredByWildcard(host string, patterns []string) bool {
	for _, p := range patterns {
		if !isWildcard(p) {
			continue
		}
		suffix := p[1:]
		if label, ok := strings.CutSuffix(host, suffix); ok && label != "" && !strings.Contains(label, ".") {
			return true
		}
	}
	return false
}
