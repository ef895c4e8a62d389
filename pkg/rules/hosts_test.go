package rules

import (
	"slices"
	"testing"
)

func TestHosts(t *testing.T) {
	tests := []struct {
		desc string
		rule string
		want []string
		// alt, when set, is another acceptable answer.
		alt []string
	}{
		{desc: "single host", rule: "Host(`a`)", want: []string{"a"}},
		{desc: "lower-cased", rule: "Host(`Example.COM`)", want: []string{"example.com"}},
		{desc: "trailing dot removed", rule: "Host(`example.com.`)", want: []string{"example.com"}},
		{desc: "ipv6 brackets removed", rule: "Host(`[::1]`)", want: []string{"::1"}},
		{desc: "wildcard", rule: "Host(`*.Example.com`)", want: []string{"*.example.com"}},
		{desc: "or of hosts", rule: "Host(`a`) || Host(`b`)", want: []string{"a", "b"}},
		{desc: "or deduplicated", rule: "Host(`a`) || Host(`A`) || Host(`b`)", want: []string{"a", "b"}},
		{desc: "and with path", rule: "Host(`a`) && PathPrefix(`/x`)", want: []string{"a"}},
		{desc: "path and host", rule: "PathPrefix(`/x`) && Host(`a`)", want: []string{"a"}},
		{desc: "grouped or and path", rule: "(Host(`a`)||Host(`b`)) && Path(`/`)", want: []string{"a", "b"}},
		{desc: "precedence without group", rule: "Host(`a`) || Host(`b`) && Path(`/`)", want: []string{"a", "b"}},
		{desc: "contradictory hosts", rule: "Host(`a`) && Host(`b`)", want: []string{"a"}, alt: []string{"b"}},
		{desc: "intersection", rule: "(Host(`a`) || Host(`b`)) && (Host(`b`) || Host(`c`))", want: []string{"b"}},
		{desc: "exact within wildcard", rule: "Host(`*.example.com`) && (Host(`a.example.com`) || Host(`example.com`))",
			want: []string{"a.example.com"}},
		{desc: "and of or with unrestricted", rule: "(Host(`a`) || Path(`/`)) && Host(`b`)", want: []string{"b"}},
		{desc: "host set", rule: manyHosts + " || Host(`A.com`)", want: []string{"a.com", "b.com", "c.com", "d.com", "e.com"}},
		{desc: "host set and wildcard", rule: manyHosts + " || Host(`*.w.com`)", want: []string{"a.com", "b.com", "c.com", "d.com", "e.com", "*.w.com"}},
		{desc: "host set and path", rule: "(" + manyHosts + ") && Path(`/`)", want: []string{"a.com", "b.com", "c.com", "d.com", "e.com"}},
		{desc: "host set or path", rule: manyHosts + " || Path(`/`)", want: nil},
		{desc: "no host", rule: "PathPrefix(`/x`)", want: nil},
		{desc: "host or path", rule: "Host(`a`) || PathPrefix(`/x`)", want: nil},
		{desc: "host regexp", rule: "HostRegexp(`^a$`)", want: nil},
		{desc: "host regexp or host", rule: "HostRegexp(`^a$`) || Host(`b`)", want: nil},
		{desc: "negated host", rule: "!Host(`a`)", want: nil},
		{desc: "negated host and path", rule: "!Host(`a`) && Path(`/`)", want: nil},
		{desc: "double negation", rule: "!!Host(`a`)", want: []string{"a"}},
		{desc: "negated host with host", rule: "!Host(`a`) && Host(`b`)", want: []string{"b"}},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			r, err := Parse(tt.rule)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.rule, err)
			}
			got := r.Hosts()
			if (got == nil) != (tt.want == nil) || !slices.Equal(got, tt.want) && !(tt.alt != nil && slices.Equal(got, tt.alt)) {
				t.Errorf("Parse(%q).Hosts() = %#v, want %#v", tt.rule, got, tt.want)
			}
		})
	}
}

func TestHostsReturnsCopy(t *testing.T) {
	r, err := Parse("Host(`a`) || Host(`b`)")
	if err != nil {
		t.Fatal(err)
	}
	r.Hosts()[0] = "changed"
	if got := r.Hosts(); got[0] != "a" {
		t.Errorf("Hosts() shares its slice with the Rule: got %v after caller modified it", got)
	}
}
