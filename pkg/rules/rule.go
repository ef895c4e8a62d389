package rules

import (
	"net/http"
	"slices"
)

// Rule is a compiled router rule. It is immutable and safe for concurrent
// use by many requests.
type Rule struct {
	text  string
	m     matcher
	hosts []string // nil when the rule can match any host
}

// Parse compiles a rule. A syntax or argument error is a *SyntaxError.
func Parse(rule string) (*Rule, error) {
	m, err := parse(rule)
	if err != nil {
		return nil, err
	}
	hosts, ok := hostsOf(m)
	if !ok {
		hosts = nil
	}
	return &Rule{text: rule, m: m, hosts: hosts}, nil
}

// Match reports whether the request satisfies the rule. A nil or zero Rule
// matches nothing.
func (r *Rule) Match(req *http.Request) bool {
	if r == nil || r.m == nil {
		return false
	}
	return r.m.match(req)
}

// Hosts returns the host names the rule requires, for indexing routers by
// host: every request the rule matches has one of these hosts. Exact names
// are lower-cased without port or trailing dot; a single-label wildcard is
// returned as "*.example.com". It returns nil when the rule can match a
// request of any host, for example when some alternative of the rule has no
// Host matcher, or the host test is a HostRegexp or is negated with "!".
// The result is a fresh slice that the caller may modify.
func (r *Rule) Hosts() []string {
	if r == nil {
		return nil
	}
	return slices.Clone(r.hosts)
}

// String returns the rule text exactly as it was given to Parse.
func (r *Rule) String() string {
	if r == nil {
		return ""
	}
	return r.text
}

// DefaultPriority is Traefik's default router priority: the length of the
// rule string in bytes, so that longer, usually more specific, rules are
// tried first.
func DefaultPriority(rule string) int {
	return len(rule)
}
