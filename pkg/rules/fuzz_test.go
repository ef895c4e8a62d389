package rules

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"
)

var fuzzSeeds = []string{
	"Host(`example.com`)",
	"Host(`*.example.com`) && PathPrefix(`/api`)",
	"(Host(`a`) || Host(`b`)) && Path(`/`)",
	"Host(`a`) || PathPrefix(`/x`)",
	"!Host(`a`) && Method(`GET`)",
	"HostRegexp(`^[a-z]+\\.example\\.com$`) || PathRegexp(`^/x/[0-9]+$`)",
	`Header("X-A", "a\"b") && HeaderRegexp("X-B", "^b")`,
	"Query(`a`) && Query(`b`, `1`) || QueryRegexp(`c`, `.`)",
	"ClientIP(`10.0.0.0/8`) || ClientIP(`::1`)",
	"Host(`a`, `b`)",
	"Host(`abc",
	"PathPrefix(`/api`) || )",
	"((!!(Host(`a`))))",
	"Hots(`a`) & Path(`/`)",
	"Host(`[::1]`) && Host(`A.example.com.`)",
	"Host(`example.com`) || Host(`b`) || Host(`*.b`) || Host(`c`) || Host(`a.example.com`) || Path(`/x/12`)",
	"",
}

// fuzzRequests are fixed requests that exercise every matcher's input.
func fuzzRequests() []*http.Request {
	return []*http.Request{
		{Method: "GET", Host: "example.com", URL: &url.URL{Path: "/"}, RemoteAddr: "10.0.0.1:1234",
			Header: http.Header{"X-A": {`a"b`}}},
		{Method: "post", Host: "A.Example.com:8080", URL: &url.URL{Path: "/api/v1", RawQuery: "a&b=1&c=%zz;x"},
			RemoteAddr: "[::1]:80", Header: http.Header{"X-B": {"b", ""}}},
		{Host: "[::1]:80", URL: &url.URL{Path: "/x/12"}, RemoteAddr: "garbage"},
		{Host: "a.b.example.com.", RemoteAddr: "[fe80::1%eth0]:1"},
		{},
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	reqs := fuzzRequests()
	f.Fuzz(func(t *testing.T, rule string) {
		r, err := Parse(rule)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Parse(%q) error is %T, want *SyntaxError", rule, err)
			}
			if se.Col < 0 || se.Col > utf8.RuneCountInString(rule)+1 || se.Msg == "" {
				t.Fatalf("Parse(%q) error %+v has a column outside the rule or no message", rule, se)
			}
			_ = se.Error()
			return
		}
		if r.String() != rule {
			t.Fatalf("String() = %q, want %q", r.String(), rule)
		}
		again, err := Parse(r.String())
		if err != nil {
			t.Fatalf("Parse(String()) of %q failed: %v", rule, err)
		}
		negated, err := Parse("!(" + rule + ")")
		if err != nil {
			negated = nil // Only possible when the rule is already at the nesting limit.
		}
		hosts := r.Hosts()
		for _, req := range reqs {
			got := r.Match(req)
			if again.Match(req) != got {
				t.Fatalf("re-parsed %q matches differently", rule)
			}
			if negated != nil && negated.Match(req) == got {
				t.Fatalf("!(%s) agrees with %s on host %q", rule, rule, req.Host)
			}
			checkHostsCover(t, rule, hosts, req, got)
		}
	})
}

// FuzzMatch varies the request as well as the rule, checking that Match
// never panics and that Hosts always covers the hosts Match accepts.
func FuzzMatch(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s, "a.example.com:80", "/api", "a=1")
	}
	f.Fuzz(func(t *testing.T, rule, host, path, query string) {
		r, err := Parse(rule)
		if err != nil {
			return
		}
		req := &http.Request{Method: "GET", Host: host, URL: &url.URL{Path: path, RawQuery: query},
			RemoteAddr: host, Header: http.Header{"X": {host}}}
		checkHostsCover(t, rule, r.Hosts(), req, r.Match(req))
	})
}

// checkHostsCover fails when a request was matched but its host is not
// covered by the rule's Hosts. It re-derives the host independently of
// requestHost so that a bug there cannot hide itself.
func checkHostsCover(t *testing.T, rule string, hosts []string, req *http.Request, matched bool) {
	t.Helper()
	if !matched || hosts == nil {
		return
	}
	h := req.Host
	if h == "" && req.URL != nil {
		h = req.URL.Host
	}
	if strings.HasPrefix(h, "[") {
		if i := strings.Index(h, "]"); i > 0 {
			h = h[1:i]
		}
	} else if strings.Count(h, ":") == 1 {
		h = h[:strings.Index(h, ":")]
	}
	h = strings.ToLower(strings.TrimSuffix(h, "."))
	for _, p := range hosts {
		if p == h {
			return
		}
		if suffix, ok := strings.CutPrefix(p, "*"); ok {
			if label, ok := strings.CutSuffix(h, suffix); ok && label != "" && !strings.Contains(label, ".") {
				return
			}
		}
	}
	t.Fatalf("%q matched host %q (from %q) but Hosts() = %q", rule, h, req.Host, hosts)
}

// FuzzScanQuery checks the allocation-free query scanner against
// url.ParseQuery, which it must agree with.
func FuzzScanQuery(f *testing.F) {
	f.Add("a=1&b=2&a=3", "a")
	f.Add("a+b=c%26d;x&&=&a", "a b")
	f.Add("%zz=1&k=%41", "k")
	f.Fuzz(func(t *testing.T, raw, key string) {
		values, _ := url.ParseQuery(raw)
		var got []string
		scanQuery(raw, key, func(v string) bool {
			got = append(got, v)
			return false
		})
		want := values[key]
		if len(got) != len(want) {
			t.Fatalf("scanQuery(%q, %q) saw %q, url.ParseQuery %q", raw, key, got, want)
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("scanQuery(%q, %q) saw %q, url.ParseQuery %q", raw, key, got, want)
			}
		}
	})
}
