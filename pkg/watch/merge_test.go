package watch

import (
	"slices"
	"strings"
	"testing"

	"github.com/berthproxy/berth/pkg/config"
)

// stripPrefixSpecForTest stands in for a middleware's typed options: Spec
// holds a struct pointer, which the comparison must see through.
type stripPrefixSpecForTest struct {
	Prefixes []string `json:"prefixes"`
}

func TestMergeSnapshots(t *testing.T) {
	tests := []struct {
		desc       string
		snaps      map[string]*config.Dynamic
		wantKeys   []string // "kind name", sorted
		wantIssues []string // substrings, in order
	}{
		{
			desc: "every kind is qualified",
			snaps: map[string]*config.Dynamic{"file": {
				HTTP: &config.HTTP{
					Routers:           map[string]*config.Router{"r": {}},
					Services:          map[string]*config.Service{"s": {}},
					Middlewares:       map[string]*config.Middleware{"m": {Type: "stripPrefix"}},
					ServersTransports: map[string]*config.ServersTransport{"t": {}},
				},
				TLS: &config.TLS{
					Options: map[string]*config.TLSOption{"default": {}},
					Stores:  map[string]*config.TLSStore{"default": {}},
				},
			}},
			wantKeys: []string{"middleware m@file", "router r@file", "serversTransport t@file", "service s@file", "tls default@file", "tlsStore default"},
		},
		{
			desc: "a name qualified with another provider is refused",
			snaps: map[string]*config.Dynamic{"file": {HTTP: &config.HTTP{
				Middlewares: map[string]*config.Middleware{"m@docker": {Type: "x", Source: "a.yml:3:5"}, "n@file": {Type: "x"}},
			}}},
			wantKeys:   []string{"middleware n@file"},
			wantIssues: []string{`a.yml:3:5: middleware "m@docker": the name is qualified with provider "docker", but provider "file" can only define its own objects ("m" or "m@file")`},
		},
		{
			desc: "the same name with and without the provider, equal",
			snaps: map[string]*config.Dynamic{"file": {HTTP: &config.HTTP{
				Middlewares: map[string]*config.Middleware{
					"m":      {Type: "stripPrefix", Spec: &stripPrefixSpecForTest{Prefixes: []string{"/a"}}},
					"m@file": {Type: "stripPrefix", Spec: &stripPrefixSpecForTest{Prefixes: []string{"/a"}}},
				},
			}}},
			wantKeys: []string{"middleware m@file"},
		},
		{
			desc: "the same name with and without the provider, different",
			snaps: map[string]*config.Dynamic{"file": {HTTP: &config.HTTP{
				Middlewares: map[string]*config.Middleware{
					"m":      {Type: "stripPrefix", Spec: &stripPrefixSpecForTest{Prefixes: []string{"/a"}}},
					"m@file": {Type: "stripPrefix", Spec: &stripPrefixSpecForTest{Prefixes: []string{"/b"}}},
				},
			}}},
			wantIssues: []string{`middleware "m@file": is defined twice, as "m" and "m@file", differently`},
		},
		{
			desc: "certificates are concatenated, stores merged",
			snaps: map[string]*config.Dynamic{
				"docker": {TLS: &config.TLS{
					Certificates: []*config.CertAndStores{{Certificate: config.Certificate{CertFile: "d.crt"}}},
					Stores:       map[string]*config.TLSStore{"default": {DefaultCertificate: &config.Certificate{CertFile: "d.crt"}}, "same": {}},
				}},
				"file": {TLS: &config.TLS{
					Certificates: []*config.CertAndStores{{Certificate: config.Certificate{CertFile: "f.crt"}}},
					Stores:       map[string]*config.TLSStore{"default": {DefaultCertificate: &config.Certificate{CertFile: "f.crt"}}, "same": {}},
				}},
			},
			wantKeys:   []string{"certificate d.crt", "certificate f.crt", "tlsStore same"},
			wantIssues: []string{`tlsStore "default": is defined differently by providers "docker" and "file"`},
		},
	}
	for _, test := range tests {
		t.Run(test.desc, func(t *testing.T) {
			var names []string
			for n := range test.snaps {
				names = append(names, n)
			}
			slices.Sort(names)
			snaps := make([]config.Snapshot, len(names))
			for i, n := range names {
				snaps[i] = config.Snapshot{Provider: n, Config: test.snaps[n]}
			}
			conf, issues := mergeSnapshots(names, snaps)

			var keys []string
			for n := range conf.HTTP.Routers {
				keys = append(keys, "router "+n)
			}
			for n := range conf.HTTP.Services {
				keys = append(keys, "service "+n)
			}
			for n := range conf.HTTP.Middlewares {
				keys = append(keys, "middleware "+n)
			}
			for n := range conf.HTTP.ServersTransports {
				keys = append(keys, "serversTransport "+n)
			}
			for n := range conf.TLS.Options {
				keys = append(keys, "tls "+n)
			}
			for n := range conf.TLS.Stores {
				keys = append(keys, "tlsStore "+n)
			}
			for _, c := range conf.TLS.Certificates {
				keys = append(keys, "certificate "+c.CertFile)
			}
			slices.Sort(keys)
			if !slices.Equal(keys, test.wantKeys) {
				t.Errorf("objects\n got %q\nwant %q", keys, test.wantKeys)
			}
			if len(issues) != len(test.wantIssues) {
				t.Fatalf("issues = %v, want %d", issues, len(test.wantIssues))
			}
			for i, want := range test.wantIssues {
				if !strings.Contains(issues[i].Error(), want) || !issues[i].Fatal || issues[i].Provider == "" {
					t.Errorf("issue %d = %+v, want a fatal one with provider containing %q", i, issues[i], want)
				}
			}
		})
	}
}
