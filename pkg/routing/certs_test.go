package routing

import (
	"fmt"
	"strings"
	"testing"

	"github.com/berthproxy/berth/pkg/config"
)

func TestCertRequests(t *testing.T) {
	router := func(rule string, tls *config.RouterTLS, eps ...string) *config.Router {
		return &config.Router{Rule: rule, Service: "svc@file", TLS: tls, EntryPoints: eps, Source: "d.yml:1:1"}
	}
	le := &config.RouterTLS{CertResolver: "le"}
	epTLS := map[string]*config.EntryPoint{
		"web":       {},
		"websecure": {HTTP: &config.EntryPointHTTP{TLS: &config.RouterTLS{CertResolver: "zerossl"}}},
	}
	tests := []struct {
		desc    string
		routers map[string]*config.Router
		want    []string // "resolver: domains (router)"
		issues  []string // substrings, in order
	}{
		{desc: "Host names of the rule, lower case, deduplicated",
			routers: map[string]*config.Router{"a@file": router("Host(`A.test`) || Host(`b.test`) || Host(`a.test`)", le, "web")},
			want:    []string{"le: a.test,b.test (a@file)"}},
		{desc: "Host with other matchers",
			routers: map[string]*config.Router{"a@file": router("Host(`a.test`) && PathPrefix(`/api`)", le, "web")},
			want:    []string{"le: a.test (a@file)"}},
		{desc: "tls.domains win over the rule, one certificate each",
			routers: map[string]*config.Router{"a@file": router("Host(`a.test`)", &config.RouterTLS{CertResolver: "le", Domains: []config.Domain{
				{Main: "x.test", SANs: []string{"www.x.test"}}, {Main: "y.test"}}}, "web")},
			want: []string{"le: x.test,www.x.test (a@file)", "le: y.test (a@file)"}},
		{desc: "no resolver, no request",
			routers: map[string]*config.Router{"a@file": router("Host(`a.test`)", &config.RouterTLS{}, "web")}},
		{desc: "same domains from two routers are requested once",
			routers: map[string]*config.Router{
				"a@file": router("Host(`a.test`)", le, "web"),
				"b@file": router("Host(`a.test`) && Path(`/b`)", le, "web")},
			want: []string{"le: a.test (a@file)"}},
		{desc: "wildcards need DNS-01 and are left out with a warning",
			routers: map[string]*config.Router{"a@file": router("Host(`a.test`)", &config.RouterTLS{CertResolver: "le", Domains: []config.Domain{
				{Main: "*.a.test", SANs: []string{"a.test"}}}}, "web")},
			want:   []string{"le: a.test (a@file)"},
			issues: []string{`d.yml:1:1: acme "a@file": "tls.domains" = "*.a.test": wildcard certificates need the DNS-01 challenge`}},
		{desc: "HostRegexp names no host: warning",
			routers: map[string]*config.Router{"a@file": router("HostRegexp(`^.+\\.test$`)", le, "web")},
			issues:  []string{`acme "a@file": "tls.certResolver" = "le": the rule names no host`}},
		{desc: "IP addresses are left out",
			routers: map[string]*config.Router{"a@file": router("Host(`10.0.0.1`) || Host(`a.test`)", le, "web")},
			want:    []string{"le: a.test (a@file)"},
			issues:  []string{`"10.0.0.1": certificates for IP addresses are not supported`}},
		{desc: "entrypoint tls.certResolver applies to routers without tls",
			routers: map[string]*config.Router{
				"a@file": router("Host(`a.test`)", nil, "websecure"),
				"b@file": router("Host(`b.test`)", le, "websecure"),
				"c@file": router("Host(`c.test`)", nil, "web")},
			want: []string{"zerossl: a.test (a@file)", "le: b.test (b@file)"}},
		{desc: "disabled routers are skipped",
			routers: map[string]*config.Router{"a@file": router("Host(`a.test`)", le, "nowhere")}},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			deps := testDeps(t)
			deps.EntryPoints = epTLS
			cfg := &config.Dynamic{HTTP: &config.HTTP{Routers: tt.routers,
				Services: map[string]*config.Service{"svc@file": lb("http://127.0.0.1:1")}}}
			reqs, issues := CertRequests(Build(cfg, nil, 1, deps), epTLS)
			var got []string
			for _, r := range reqs {
				got = append(got, fmt.Sprintf("%s: %s (%s)", r.Resolver, strings.Join(r.Domains, ","), r.Router))
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("requests\n got %q\nwant %q", got, tt.want)
			}
			all := ""
			for _, is := range issues {
				if is.Kind != "acme" || is.Fatal {
					t.Errorf("issue %v: want a non-fatal acme issue", is)
				}
				all += is.Error() + "\n"
			}
			rest := all
			for _, w := range tt.issues {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("issues do not contain %q:\n%s", w, all)
				}
				rest = rest[i+len(w):]
			}
			if len(tt.issues) == 0 && all != "" {
				t.Errorf("unexpected issues:\n%s", all)
			}
		})
	}
}
