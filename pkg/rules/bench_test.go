package rules

import (
	"net/http"
	"testing"
)

// BenchmarkMatch measures Match for each matcher kind and for a typical
// router rule; run with -benchmem to see that the common ones do not allocate.
func BenchmarkMatch(b *testing.B) {
	benchmarks := []struct {
		desc string
		rule string
		req  *http.Request
	}{
		{desc: "Host", rule: "Host(`example.com`)", req: request("GET", "/", "example.com:443")},
		{desc: "HostUpperCase", rule: "Host(`example.com`)", req: request("GET", "/", "EXAMPLE.com")},
		{desc: "HostWildcard", rule: "Host(`*.example.com`)", req: request("GET", "/", "api.example.com")},
		{desc: "HostSet", rule: manyHosts, req: request("GET", "/", "e.com")},
		{desc: "HostRegexp", rule: "HostRegexp(`^[a-z]+\\.example\\.com$`)", req: request("GET", "/", "api.example.com")},
		{desc: "Path", rule: "Path(`/api/v1/users`)", req: request("GET", "/api/v1/users", "")},
		{desc: "PathPrefix", rule: "PathPrefix(`/api`)", req: request("GET", "/api/v1/users", "")},
		{desc: "PathRegexp", rule: "PathRegexp(`^/x/[0-9]+$`)", req: request("GET", "/x/12345", "")},
		{desc: "Method", rule: "Method(`GET`)", req: request("GET", "/", "")},
		{desc: "Header", rule: "Header(`X-Env`, `prod`)", req: request("GET", "/", "", "X-Env", "prod")},
		{desc: "Query", rule: "Query(`page`, `2`)", req: request("GET", "/?sort=asc&page=2", "")},
		{desc: "ClientIP", rule: "ClientIP(`192.0.2.0/24`)", req: request("GET", "/", "")},
		{desc: "Typical", rule: "(Host(`example.com`) || Host(`www.example.com`)) && PathPrefix(`/api`) && !Method(`OPTIONS`)",
			req: request("GET", "/api/v1/users", "www.example.com")},
	}
	for _, bm := range benchmarks {
		r, err := Parse(bm.rule)
		if err != nil {
			b.Fatal(err)
		}
		if !r.Match(bm.req) {
			b.Fatalf("%q does not match the benchmark request", bm.rule)
		}
		b.Run(bm.desc, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				r.Match(bm.req)
			}
		})
	}
}

func BenchmarkParse(b *testing.B) {
	const rule = "(Host(`example.com`) || Host(`www.example.com`)) && PathPrefix(`/api`) && !Method(`OPTIONS`)"
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(rule); err != nil {
			b.Fatal(err)
		}
	}
}
