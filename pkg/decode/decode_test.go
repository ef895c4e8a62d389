package decode

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/berthproxy/berth/pkg/config"
)

// errStrings formats errors as "pos|path|msg|suggestion" for comparison.
func errStrings(errs []*Error) []string {
	var out []string
	for _, e := range errs {
		out = append(out, e.Pos+"|"+e.Path+"|"+e.Msg+"|"+e.Suggestion)
	}
	return out
}

func TestDecodeYAML(t *testing.T) {
	tests := []struct {
		desc  string
		yaml  string
		check func(t *testing.T, d *config.Dynamic)
		errs  []string
	}{
		{
			desc: "scalars, lists, maps, pointers and sources",
			yaml: "http:\n  routers:\n    Web:\n      rule: Host(`x`)\n      priority: 0x10\n      entryPoints: a,b\n  services:\n    s:\n      loadBalancer:\n        passHostHeader: False\n        servers:\n          - url: http://a\n            weight: 2\n        healthCheck:\n          interval: 5\n          headers:\n            X-Test: yes\n",
			check: func(t *testing.T, d *config.Dynamic) {
				r := d.HTTP.Routers["Web"]
				if r.Priority != 16 || strings.Join(r.EntryPoints, " ") != "a b" || r.Source != "f.yml:3:5" {
					t.Errorf("router = %+v", r)
				}
				lb := d.HTTP.Services["s"].LoadBalancer
				if *lb.PassHostHeader || *lb.Servers[0].Weight != 2 || lb.HealthCheck.Interval.D() != 5*time.Second || lb.HealthCheck.Headers["X-Test"] != "yes" {
					t.Errorf("loadBalancer = %+v", lb)
				}
			},
		},
		{
			desc: "embedded struct is flattened",
			yaml: "tls:\n  certificates:\n    - certFile: a\n      KEYFILE: b\n",
			check: func(t *testing.T, d *config.Dynamic) {
				c := d.TLS.Certificates[0]
				if c.CertFile != "a" || c.KeyFile != "b" || c.Source != "f.yml:3:7" {
					t.Errorf("certificate = %+v", c)
				}
			},
		},
		{
			desc: "every error is collected",
			yaml: "http:\n  routers:\n    a:\n      priority: x\n      rul: y\n    b:\n      tls: maybe\n",
			errs: []string{
				`f.yml:4:7|http.routers.a.priority|invalid value "x" for "priority": want an integer|`,
				`f.yml:5:7|http.routers.a.rul|unknown key "rul"; did you mean "rule"?|http.routers.a.rule`,
				`f.yml:7:7|http.routers.b.tls|invalid value "maybe" for "tls": want true, false or a section of keys|`,
			},
		},
		{
			desc: "deep suggestion covers the following key",
			yaml: "http:\n  services:\n    s:\n      servers:\n        - url: http://a\n      url: x\n",
			errs: []string{
				`f.yml:4:7|http.services.s.servers|unknown key "servers"; did you mean "loadBalancer.servers"?|http.services.s.loadBalancer.servers`,
				`f.yml:6:7|http.services.s.url|unknown key "url"; did you mean "loadBalancer.servers[0].url"?|http.services.s.loadBalancer.servers[0].url`,
			},
		},
		{
			desc: "unknown key without a near match lists the valid keys",
			yaml: "http:\n  routers:\n    a:\n      tls:\n        zzz: 1\n",
			errs: []string{`f.yml:5:9|http.routers.a.tls.zzz|unknown key "zzz" (valid keys here: options, certResolver, domains)|`},
		},
		{
			desc: "sections and values in the wrong place",
			yaml: "http:\n  routers:\n    a:\n      rule:\n        x: 1\n      middlewares:\n        a: b\n  services: [1]\n",
			errs: []string{
				`f.yml:4:7|http.routers.a.rule|invalid section for "rule": want a single value|`,
				`f.yml:7:9|http.routers.a.middlewares.a|invalid key "a" under "middlewares": want a list, or indexes such as "middlewares[0]"|`,
				`f.yml:8:3|http.services|invalid list for "services": want a section of named entries|`,
			},
		},
		{
			desc: "null and empty values",
			yaml: "http:\n  routers:\n    a:\n      priority:\n      tls:\n      middlewares: []\n",
			check: func(t *testing.T, d *config.Dynamic) {
				r := d.HTTP.Routers["a"]
				if r.Priority != 0 || r.TLS == nil || r.Middlewares == nil || len(r.Middlewares) != 0 {
					t.Errorf("router = %+v", r)
				}
			},
		},
		{
			desc: "too large an index",
			yaml: "http:\n  routers:\n    a:\n      middlewares:\n        '[5000]': x\n",
			errs: []string{`f.yml:5:9|http.routers.a.middlewares|index 5000 of "middlewares" is too large (the limit is 999)|`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			n, err := FromYAML("f.yml", []byte(tt.yaml))
			if err != nil {
				t.Fatal(err)
			}
			var d config.Dynamic
			got := errStrings(Decode(n, &d))
			if strings.Join(got, "\n") != strings.Join(tt.errs, "\n") {
				t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.errs, "\n"))
			}
			if tt.check != nil {
				tt.check(t, &d)
			}
		})
	}
}

func TestSyntaxErrors(t *testing.T) {
	tests := []struct {
		desc, file, data, want string
	}{
		{desc: "YAML indentation", file: "a.yml", data: "a:\n  b: 1\n c: 2\n", want: "a.yml:3: invalid YAML: "},
		{desc: "YAML line of the mistake, not of its block", file: "a.yml", data: "a:\n  b:\n    c: 1\n    d: 2\n   e: 3\n", want: "a.yml:5: invalid YAML: did not find expected key"},
		{desc: "YAML alias cycle", file: "a.yml", data: "a: &x [*x]\n", want: "a.yml:1:"},
		{desc: "TOML value", file: "a.toml", data: "[a]\nb = c\n", want: "a.toml:2:5: invalid TOML: "},
		{desc: "TOML duplicate key", file: "a.toml", data: "[a]\nb = 1\nb = 2\n", want: "a.toml:3:1: invalid TOML: "},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			var err error
			if strings.HasSuffix(tt.file, ".toml") {
				_, err = FromTOML(tt.file, []byte(tt.data))
			} else {
				_, err = FromYAML(tt.file, []byte(tt.data))
			}
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("error = %v, want prefix %q", err, tt.want)
			}
		})
	}
}

func TestTOMLPositions(t *testing.T) {
	src := "[http.routers.web]\nrule = \"x\"\n\n[[tls.certificates]]\ncertFile = \"a\"\n[[tls.certificates]]\ncertFile = \"b\"\npriority = 1\n"
	n, err := FromTOML("f.toml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	var d config.Dynamic
	errs := errStrings(Decode(n, &d))
	want := `f.toml:8:1|tls.certificates[1].priority|unknown key "priority" (valid keys here: stores, certFile, keyFile)|`
	if len(errs) != 1 || errs[0] != want {
		t.Errorf("errors = %q, want %q", errs, want)
	}
	if s := d.HTTP.Routers["web"].Source; s != "f.toml:1:15" {
		t.Errorf("router source = %q", s)
	}
	if s := d.TLS.Certificates[1].Source; s != "f.toml:6:7" {
		t.Errorf("certificate source = %q", s)
	}
}

func TestFromFlags(t *testing.T) {
	tests := []struct {
		desc    string
		args    []string
		check   func(t *testing.T, s *config.Static)
		errs    []string
		wantErr string
	}{
		{
			desc: "pointer sections switched on and off",
			args: []string{"--ping", "--api=false", "--accessLog=TRUE", "--providers.docker=true", "--providers.docker.exposedByDefault=false"},
			check: func(t *testing.T, s *config.Static) {
				if s.Ping == nil || s.Ping.TerminatingStatusCode != 503 || s.API != nil || s.AccessLog.Format != "common" ||
					s.Providers.Docker.ExposedByDefault || s.Providers.Docker.Endpoint == "" {
					t.Errorf("static = %+v", s)
				}
			},
		},
		{
			desc: "map values get their defaults",
			args: []string{"--entryPoints.web.address=:80", "--ENTRYPOINTS.web.asDefault"},
			check: func(t *testing.T, s *config.Static) {
				ep := s.EntryPoints["web"]
				if ep.Address != ":80" || !ep.AsDefault || ep.HTTP2.MaxConcurrentStreams != 250 {
					t.Errorf("entrypoint = %+v", ep)
				}
			},
		},
		{
			desc: "space-separated value and indexes",
			args: []string{"--entrypoints.a.http.tls.domains[1].main", "b.example", "--entrypoints.a.http.tls.domains[0].sans=x,y"},
			check: func(t *testing.T, s *config.Static) {
				d := s.EntryPoints["a"].HTTP.TLS.Domains
				if len(d) != 2 || d[1].Main != "b.example" || len(d[0].SANs) != 2 {
					t.Errorf("domains = %+v", d)
				}
			},
		},
		{
			desc: "unknown flag",
			args: []string{"--metrics.prometheus.adEntryPointsLabels=false"},
			errs: []string{`flag --metrics.prometheus.adEntryPointsLabels|metrics.prometheus.adEntryPointsLabels|unknown key "adEntryPointsLabels"; did you mean "addEntryPointsLabels"?|metrics.prometheus.addEntryPointsLabels`},
		},
		{desc: "positional argument", args: []string{"serve"}, wantErr: `unexpected argument "serve"`},
		{desc: "malformed index", args: []string{"--a[x]=1"}, wantErr: "index"},
		{desc: "empty key part", args: []string{"--a..b=1"}, wantErr: "empty or malformed"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			n, err := FromFlags(tt.args)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var s config.Static
			got := errStrings(Decode(n, &s))
			if strings.Join(got, "\n") != strings.Join(tt.errs, "\n") {
				t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.errs, "\n"))
			}
			if tt.check != nil {
				tt.check(t, &s)
			}
		})
	}
}

func TestResolveEnv(t *testing.T) {
	static := reflect.TypeFor[config.Static]()
	tests := []struct {
		desc string
		name string
		want string
	}{
		{desc: "map key then fields", name: "ENTRYPOINTS_WEB_ADDRESS", want: "entryPoints.web.address"},
		{desc: "map key is one part", name: "ENTRYPOINTS_MY_EP_ADDRESS", want: "entryPoints.my.ep.address"},
		{desc: "deep fields", name: "ENTRYPOINTS_WEB_HTTP_REDIRECTIONS_ENTRYPOINT_TO", want: "entryPoints.web.http.redirections.entryPoint.to"},
		{desc: "slice index", name: "ENTRYPOINTS_WEB_HTTP_TLS_DOMAINS_2_MAIN", want: "entryPoints.web.http.tls.domains.[2].main"},
		{desc: "unknown part kept", name: "PROVIDERS_DOCKR_ENDPOINT", want: "providers.dockr.endpoint"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			got := strings.Join(resolveEnv(static, strings.Split(strings.ToLower(tt.name), "_")), ".")
			if got != tt.want {
				t.Errorf("resolveEnv(%s) = %s, want %s", tt.name, got, tt.want)
			}
		})
	}
}

func TestFromEnv(t *testing.T) {
	n := FromEnv([]string{"HOME=/root", "TRAEFIK_LOG_LEVEL=DEBUG", "BERTH_PING=true", "TRAEFIK_=x", "TRAEFIK_PROVIDERS_DOCKR_ENDPOINT=x"}, reflect.TypeFor[config.Static](), "TRAEFIK_", "BERTH_")
	var s config.Static
	got := errStrings(Decode(n, &s))
	want := `env TRAEFIK_PROVIDERS_DOCKR_ENDPOINT|providers.dockr|unknown key "dockr"; did you mean "docker"?|providers.docker.endpoint`
	if len(got) != 1 || got[0] != want {
		t.Errorf("errors = %q, want %q", got, want)
	}
	if s.Log.Level != "DEBUG" || s.Ping == nil {
		t.Errorf("static = %+v", s)
	}
}

func TestHook(t *testing.T) {
	type target struct {
		Any any `json:"any"`
	}
	hook := func(d *Decoder, n *Node, path string, v reflect.Value) []*Error {
		if n.Value == "bad" {
			return []*Error{Errorf(n, path, "bad value")}
		}
		v.Set(reflect.ValueOf(strings.ToUpper(n.Value)))
		return nil
	}
	n, _ := FromEntries([]Entry{{Key: "any", Value: "ok", Pos: "p"}})
	var v target
	if errs := Decode(n, &v, WithHook(reflect.TypeFor[any](), hook)); len(errs) != 0 || v.Any != "OK" {
		t.Errorf("errs = %v, value = %v", errs, v.Any)
	}
	n, _ = FromEntries([]Entry{{Key: "any", Value: "bad", Pos: "p"}})
	if errs := Decode(n, &v, WithPath("root"), WithHook(reflect.TypeFor[any](), hook)); len(errs) != 1 || errs[0].Path != "root.any" {
		t.Errorf("errs = %v", errStrings(errs))
	}
}

func TestSuggest(t *testing.T) {
	tests := []struct {
		desc, word, want string
	}{
		{desc: "case only", word: "STRIPPREFIX", want: "stripPrefix"},
		{desc: "missing letter", word: "stripprefx", want: "stripPrefix"},
		{desc: "swapped letters", word: "stirpPrefix", want: "stripPrefix"},
		{desc: "too far", word: "compress", want: ""},
		{desc: "short words need exact", word: "hdr", want: ""},
	}
	cands := []string{"addPrefix", "headers", "stripPrefix"}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			if got := Suggest(tt.word, cands); got != tt.want {
				t.Errorf("Suggest(%q) = %q, want %q", tt.word, got, tt.want)
			}
		})
	}
}
