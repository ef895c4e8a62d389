package rules

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// manyHosts has enough exact hosts to be compiled into a hostSetMatcher.
const manyHosts = "Host(`a.com`) || Host(`b.com`) || Host(`C.com`) || Host(`d.com`) || Host(`e.com`)"

// request builds a server-side request. target may be a path with query;
// host, when not empty, replaces req.Host; header lists name/value pairs.
func request(method, target, host string, header ...string) *http.Request {
	req := httptest.NewRequest(method, target, nil)
	if host != "" {
		req.Host = host
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Add(header[i], header[i+1])
	}
	return req
}

func fromAddr(remote string) *http.Request {
	req := request("GET", "/", "example.com")
	req.RemoteAddr = remote
	return req
}

func TestMatch(t *testing.T) {
	get := func(target, host string, header ...string) *http.Request {
		return request("GET", target, host, header...)
	}
	tests := []struct {
		desc string
		rule string
		req  *http.Request
		want bool
	}{
		// Host.
		{desc: "host exact", rule: "Host(`example.com`)", req: get("/", "example.com"), want: true},
		{desc: "host other", rule: "Host(`example.com`)", req: get("/", "example.org"), want: false},
		{desc: "host case-insensitive request", rule: "Host(`example.com`)", req: get("/", "EXAMPLE.Com"), want: true},
		{desc: "host case-insensitive rule", rule: "Host(`Example.COM`)", req: get("/", "example.com"), want: true},
		{desc: "host with port", rule: "Host(`example.com`)", req: get("/", "example.com:8080"), want: true},
		{desc: "host trailing dot in request", rule: "Host(`example.com`)", req: get("/", "example.com.:443"), want: true},
		{desc: "host trailing dot in rule", rule: "Host(`example.com.`)", req: get("/", "example.com"), want: true},
		{desc: "host prefix is not a match", rule: "Host(`example.com`)", req: get("/", "example.com.evil"), want: false},
		{desc: "host ipv6 with port", rule: "Host(`::1`)", req: get("/", "[::1]:80"), want: true},
		{desc: "host ipv6 bracketed rule", rule: "Host(`[::1]`)", req: get("/", "[::1]"), want: true},
		{desc: "host bare ipv6 request", rule: "Host(`::1`)", req: get("/", "::1"), want: true},
		{desc: "host ipv4 with port", rule: "Host(`127.0.0.1`)", req: get("/", "127.0.0.1:80"), want: true},
		{desc: "host from URL of client request", rule: "Host(`example.com`)",
			req: &http.Request{Method: "GET", URL: mustURL("http://example.com/")}, want: true},
		{desc: "wildcard one label", rule: "Host(`*.example.com`)", req: get("/", "a.example.com"), want: true},
		{desc: "wildcard upper case", rule: "Host(`*.example.com`)", req: get("/", "A.EXAMPLE.COM:8443"), want: true},
		{desc: "wildcard apex", rule: "Host(`*.example.com`)", req: get("/", "example.com"), want: false},
		{desc: "wildcard empty label", rule: "Host(`*.example.com`)", req: get("/", ".example.com"), want: false},
		{desc: "wildcard two labels", rule: "Host(`*.example.com`)", req: get("/", "a.b.example.com"), want: false},
		{desc: "wildcard other domain", rule: "Host(`*.example.com`)", req: get("/", "a.example.org"), want: false},
		{desc: "wildcard suffix without dot", rule: "Host(`*.example.com`)", req: get("/", "aexample.com"), want: false},

		// Many exact hosts are matched through one set lookup.
		{desc: "host set first", rule: manyHosts, req: get("/", "a.com"), want: true},
		{desc: "host set last, upper case, port", rule: manyHosts, req: get("/", "E.COM:80"), want: true},
		{desc: "host set trailing dot", rule: manyHosts, req: get("/", "c.com."), want: true},
		{desc: "host set miss", rule: manyHosts, req: get("/", "f.com"), want: false},
		{desc: "host set with other alternatives", rule: manyHosts + " || Path(`/x`) || Host(`*.w.com`)", req: get("/x", "f.com"), want: true},
		{desc: "host set with wildcard", rule: manyHosts + " || Path(`/x`) || Host(`*.w.com`)", req: get("/", "x.w.com"), want: true},
		{desc: "host set with alternatives miss", rule: manyHosts + " || Path(`/x`) || Host(`*.w.com`)", req: get("/", "w.com"), want: false},
		{desc: "host set long host", rule: manyHosts, req: get("/", strings.Repeat("a", 300)+".com"), want: false},

		// HostRegexp.
		{desc: "host regexp", rule: "HostRegexp(`^[a-z]+\\.example\\.com$`)", req: get("/", "api.example.com:80"), want: true},
		{desc: "host regexp sees lower case", rule: "HostRegexp(`^[a-z]+\\.example\\.com$`)", req: get("/", "API.example.com"), want: true},
		{desc: "host regexp no match", rule: "HostRegexp(`^[a-z]+\\.example\\.com$`)", req: get("/", "a.b.example.com"), want: false},
		{desc: "host regexp unanchored", rule: "HostRegexp(`example`)", req: get("/", "www.example.net"), want: true},

		// Path, PathPrefix, PathRegexp.
		{desc: "path exact", rule: "Path(`/api`)", req: get("/api", ""), want: true},
		{desc: "path longer", rule: "Path(`/api`)", req: get("/api/", ""), want: false},
		{desc: "path ignores query", rule: "Path(`/api`)", req: get("/api?x=1", ""), want: true},
		{desc: "path is case-sensitive", rule: "Path(`/api`)", req: get("/API", ""), want: false},
		{desc: "path decoded", rule: "Path(`/a b`)", req: get("/a%20b", ""), want: true},
		{desc: "path prefix", rule: "PathPrefix(`/api`)", req: get("/api/v1", ""), want: true},
		{desc: "path prefix equal", rule: "PathPrefix(`/api`)", req: get("/api", ""), want: true},
		{desc: "path prefix is textual", rule: "PathPrefix(`/api`)", req: get("/apix", ""), want: true},
		{desc: "path prefix miss", rule: "PathPrefix(`/api`)", req: get("/ap", ""), want: false},
		{desc: "path regexp", rule: "PathRegexp(`^/x/[0-9]+$`)", req: get("/x/42", ""), want: true},
		{desc: "path regexp miss", rule: "PathRegexp(`^/x/[0-9]+$`)", req: get("/x/4a", ""), want: false},
		{desc: "path without URL", rule: "Path(`/`)", req: &http.Request{Host: "a"}, want: false},

		// Method.
		{desc: "method", rule: "Method(`GET`)", req: request("GET", "/", ""), want: true},
		{desc: "method lower-case rule", rule: "Method(`post`)", req: request("POST", "/", ""), want: true},
		{desc: "method other", rule: "Method(`GET`)", req: request("POST", "/", ""), want: false},
		{desc: "method empty means GET", rule: "Method(`GET`)", req: &http.Request{URL: mustURL("/")}, want: true},

		// Header, HeaderRegexp.
		{desc: "header", rule: "Header(`X-Env`, `prod`)", req: get("/", "", "X-Env", "prod"), want: true},
		{desc: "header name case-insensitive", rule: "Header(`x-env`, `prod`)", req: get("/", "", "X-Env", "prod"), want: true},
		{desc: "header value case-sensitive", rule: "Header(`X-Env`, `prod`)", req: get("/", "", "X-Env", "Prod"), want: false},
		{desc: "header second value", rule: "Header(`X-Env`, `prod`)", req: get("/", "", "X-Env", "dev", "X-Env", "prod"), want: true},
		{desc: "header missing", rule: "Header(`X-Env`, `prod`)", req: get("/", ""), want: false},
		{desc: "header empty value", rule: "Header(`X-Env`, ``)", req: get("/", "", "X-Env", ""), want: true},
		{desc: "header Host", rule: "Header(`Host`, `example.com:81`)", req: get("/", "example.com:81"), want: true},
		{desc: "header regexp", rule: "HeaderRegexp(`X-Env`, `^pr`)", req: get("/", "", "X-Env", "dev", "X-Env", "prod"), want: true},
		{desc: "header regexp miss", rule: "HeaderRegexp(`X-Env`, `^pr`)", req: get("/", "", "X-Env", "dev"), want: false},
		{desc: "header regexp Host", rule: "HeaderRegexp(`Host`, `^example`)", req: get("/", "example.com"), want: true},

		// Query, QueryRegexp.
		{desc: "query value", rule: "Query(`a`, `1`)", req: get("/?a=1", ""), want: true},
		{desc: "query second value", rule: "Query(`a`, `1`)", req: get("/?a=0&b=1&a=1", ""), want: true},
		{desc: "query other value", rule: "Query(`a`, `1`)", req: get("/?a=2", ""), want: false},
		{desc: "query other key", rule: "Query(`a`, `1`)", req: get("/?b=1", ""), want: false},
		{desc: "query decoded", rule: "Query(`a b`, `c&d`)", req: get("/?a+b=c%26d", ""), want: true},
		{desc: "query empty value", rule: "Query(`a`, ``)", req: get("/?a", ""), want: true},
		{desc: "query presence", rule: "Query(`a`)", req: get("/?x=1&a", ""), want: true},
		{desc: "query presence with value", rule: "Query(`a`)", req: get("/?a=5", ""), want: true},
		{desc: "query absent", rule: "Query(`a`)", req: get("/?ab=1", ""), want: false},
		{desc: "query semicolon pair skipped", rule: "Query(`a`)", req: get("/?a=1;b=2", ""), want: false},
		{desc: "query bad escape skipped", rule: "Query(`a`)", req: get("/?a=%zz", ""), want: false},
		{desc: "query regexp", rule: "QueryRegexp(`id`, `^[0-9]+$`)", req: get("/?id=x&id=12", ""), want: true},
		{desc: "query regexp miss", rule: "QueryRegexp(`id`, `^[0-9]+$`)", req: get("/?id=x", ""), want: false},
		{desc: "query without URL", rule: "Query(`a`)", req: &http.Request{Host: "a"}, want: false},

		// ClientIP.
		{desc: "client ip cidr", rule: "ClientIP(`10.0.0.0/8`)", req: fromAddr("10.1.2.3:5555"), want: true},
		{desc: "client ip cidr miss", rule: "ClientIP(`10.0.0.0/8`)", req: fromAddr("11.1.2.3:5555"), want: false},
		{desc: "client ip unmasked cidr", rule: "ClientIP(`10.1.2.3/8`)", req: fromAddr("10.9.9.9:1"), want: true},
		{desc: "client ip single", rule: "ClientIP(`192.0.2.7`)", req: fromAddr("192.0.2.7:1"), want: true},
		{desc: "client ip single miss", rule: "ClientIP(`192.0.2.7`)", req: fromAddr("192.0.2.8:1"), want: false},
		{desc: "client ipv6", rule: "ClientIP(`::1`)", req: fromAddr("[::1]:80"), want: true},
		{desc: "client ipv6 cidr", rule: "ClientIP(`2001:db8::/32`)", req: fromAddr("[2001:db8::5]:80"), want: true},
		{desc: "client ipv6 zone", rule: "ClientIP(`fe80::/10`)", req: fromAddr("[fe80::1%eth0]:80"), want: true},
		{desc: "client ipv4-mapped", rule: "ClientIP(`10.0.0.0/8`)", req: fromAddr("[::ffff:10.0.0.1]:80"), want: true},
		{desc: "client ip without port", rule: "ClientIP(`10.0.0.1`)", req: fromAddr("10.0.0.1"), want: true},
		{desc: "client ip ignores forwarded", rule: "ClientIP(`10.0.0.1`)",
			req: func() *http.Request {
				r := fromAddr("192.0.2.1:1")
				r.Header.Set("X-Forwarded-For", "10.0.0.1")
				return r
			}(), want: false},
		{desc: "client ip garbage remote", rule: "ClientIP(`10.0.0.1`)", req: fromAddr("pipe"), want: false},

		// Operators and precedence.
		{desc: "and both", rule: "Host(`a`) && Path(`/x`)", req: get("/x", "a"), want: true},
		{desc: "and one", rule: "Host(`a`) && Path(`/x`)", req: get("/y", "a"), want: false},
		{desc: "or second", rule: "Host(`a`) || Path(`/x`)", req: get("/x", "b"), want: true},
		{desc: "or none", rule: "Host(`a`) || Path(`/x`)", req: get("/y", "b"), want: false},
		{desc: "not", rule: "!Host(`a`)", req: get("/", "b"), want: true},
		{desc: "not matched", rule: "!Host(`a`)", req: get("/", "a"), want: false},
		{desc: "double not", rule: "!!Host(`a`)", req: get("/", "a"), want: true},
		{desc: "and binds tighter, left", rule: "Host(`a`) || Host(`b`) && Path(`/x`)", req: get("/y", "a"), want: true},
		{desc: "and binds tighter, right", rule: "Host(`a`) || Host(`b`) && Path(`/x`)", req: get("/y", "b"), want: false},
		{desc: "and binds tighter, trailing or", rule: "Host(`b`) && Path(`/x`) || Host(`a`)", req: get("/y", "a"), want: true},
		{desc: "parentheses override", rule: "(Host(`a`) || Host(`b`)) && Path(`/x`)", req: get("/y", "a"), want: false},
		{desc: "parentheses override match", rule: "(Host(`a`) || Host(`b`)) && Path(`/x`)", req: get("/x", "b"), want: true},
		{desc: "not binds tighter than and", rule: "!Host(`a`) && Path(`/x`)", req: get("/x", "b"), want: true},
		{desc: "not binds tighter than or", rule: "!Host(`a`) || Path(`/x`)", req: get("/x", "a"), want: true},
		{desc: "not of group", rule: "!(Host(`a`) || Path(`/x`))", req: get("/x", "b"), want: false},
		{desc: "long chain", rule: "Method(`GET`) && Host(`a`) && PathPrefix(`/p`) && !Header(`X`, `1`)",
			req: get("/p/q", "a", "X", "2"), want: true},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			r, err := Parse(tt.rule)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.rule, err)
			}
			if got := r.Match(tt.req); got != tt.want {
				t.Errorf("Parse(%q).Match(host %q, %s) = %v, want %v", tt.rule, tt.req.Host, tt.req.URL, got, tt.want)
			}
		})
	}
}

func TestMatchZeroRule(t *testing.T) {
	var nilRule *Rule
	if nilRule.Match(request("GET", "/", "")) || (&Rule{}).Match(request("GET", "/", "")) {
		t.Error("a nil or zero Rule matched a request")
	}
}

// TestMatchAllocations guards the hot path: the common matchers must not
// allocate, including for an upper-case host that HostRegexp would lower.
func TestMatchAllocations(t *testing.T) {
	tests := []struct {
		desc string
		rule string
		req  *http.Request
	}{
		{desc: "host", rule: "Host(`example.com`)", req: request("GET", "/", "Example.com:443")},
		{desc: "wildcard host", rule: "Host(`*.example.com`)", req: request("GET", "/", "a.example.com")},
		{desc: "host set, upper-case host", rule: manyHosts, req: request("GET", "/", "D.Com:443")},
		{desc: "path", rule: "Path(`/api`)", req: request("GET", "/api", "")},
		{desc: "path prefix", rule: "PathPrefix(`/api`)", req: request("GET", "/api/v1", "")},
		{desc: "method", rule: "Method(`get`)", req: request("GET", "/", "")},
		{desc: "header", rule: "Header(`x-env`, `prod`)", req: request("GET", "/", "", "X-Env", "prod")},
		{desc: "host regexp, lower-case host", rule: "HostRegexp(`^a\\.example\\.com$`)", req: request("GET", "/", "a.example.com")},
		{desc: "query", rule: "Query(`a`, `1`)", req: request("GET", "/?b=2&a=1", "")},
		{desc: "client ip", rule: "ClientIP(`192.0.2.0/24`)", req: request("GET", "/", "")},
		{desc: "combined", rule: "(Host(`a.com`) || Host(`example.com`)) && PathPrefix(`/api`) && !Method(`POST`)",
			req: request("GET", "/api/x", "example.com")},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			r, err := Parse(tt.rule)
			if err != nil {
				t.Fatal(err)
			}
			if !r.Match(tt.req) {
				t.Fatalf("%q does not match the test request", tt.rule)
			}
			if n := testing.AllocsPerRun(100, func() { r.Match(tt.req) }); n != 0 {
				t.Errorf("Match allocates %v times per call, want 0", n)
			}
		})
	}
}
