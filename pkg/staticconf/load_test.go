package staticconf

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berthproxy/berth/pkg/config"
)

// composeArgs is the command line of a typical Traefik docker-compose file.
var composeArgs = []string{
	"--api.insecure=true",
	"--providers.docker=true",
	"--providers.docker.exposedbydefault=false",
	"--entrypoints.web.address=:80",
	"--entryPoints.websecure.address=:443",
	"--entrypoints.web.http.redirections.entrypoint.to=websecure",
	"--entrypoints.web.http.redirections.entrypoint.scheme=https",
	"--ping=true",
	"--metrics.prometheus=true",
	"--log.level=DEBUG",
	"--accessLog=true",
	"--providers.file.directory=/etc/traefik/dynamic",
	"--providers.file.watch=true",
	"--certificatesresolvers.le.acme.email=a@b.c",
	"--certificatesresolvers.le.acme.httpchallenge.entrypoint=web",
}

func TestLoad(t *testing.T) {
	tests := []struct {
		desc  string
		args  []string
		env   []string
		files map[string]string // written to a temporary directory, named by {dir} in args
		check func(t *testing.T, c *config.Static)
		// issues are the expected issues (Issue.Error()), in order; a
		// leading "~" matches a substring.
		issues  []string
		wantErr string
	}{
		{
			desc: "compose command line",
			args: composeArgs,
			check: func(t *testing.T, c *config.Static) {
				eq(t, "api.insecure", c.API != nil && c.API.Insecure && c.API.Dashboard, true)
				eq(t, "docker exposedByDefault", c.Providers.Docker.ExposedByDefault, false)
				eq(t, "docker endpoint default", c.Providers.Docker.Endpoint, "unix:///var/run/docker.sock")
				eq(t, "web address", c.EntryPoints["web"].Address, ":80")
				eq(t, "websecure address", c.EntryPoints["websecure"].Address, ":443")
				r := c.EntryPoints["web"].HTTP.Redirections.EntryPoint
				eq(t, "redirect", *r, config.RedirectEntryPoint{To: "websecure", Scheme: "https", Permanent: true, Priority: 2147483646})
				eq(t, "ping entrypoint", c.Ping.EntryPoint, "traefik")
				eq(t, "prometheus entrypoint", c.Metrics.Prometheus.EntryPoint, "traefik")
				eq(t, "traefik entrypoint", c.EntryPoints["traefik"].Address, ":8080")
				eq(t, "no http default", c.EntryPoints["http"] == nil, true)
				eq(t, "log level", c.Log.Level, "DEBUG")
				eq(t, "log format default", c.Log.Format, "common")
				eq(t, "access log", c.AccessLog.Format, "common")
				eq(t, "file provider", *c.Providers.File, config.FileProvider{Directory: "/etc/traefik/dynamic", Watch: true})
				eq(t, "acme email", c.CertificatesResolvers["le"].ACME.Email, "a@b.c")
				eq(t, "acme storage default", c.CertificatesResolvers["le"].ACME.Storage, "acme.json")
				eq(t, "acme challenge", c.CertificatesResolvers["le"].ACME.HTTPChallenge.EntryPoint, "web")
				for name, ep := range c.EntryPoints {
					if ep.Transport == nil || ep.Transport.RespondingTimeouts.ReadTimeout.D() != time.Minute {
						t.Errorf("entrypoint %s lacks its default timeouts", name)
					}
				}
			},
		},
		{
			desc: "no entrypoints gives http on :80",
			args: []string{"--log.level=info"},
			check: func(t *testing.T, c *config.Static) {
				eq(t, "entrypoints", len(c.EntryPoints), 1)
				eq(t, "http", c.EntryPoints["http"].Address, ":80")
				eq(t, "http timeouts", c.EntryPoints["http"].Transport.LifeCycle.GraceTimeOut.D(), 10*time.Second)
			},
		},
		{
			desc: "bare flags, space-separated values and indexed keys",
			args: []string{"--ping", "--entryPoints.websecure.address", ":443", "--entrypoints.websecure.http.tls.domains[0].main=example.com",
				"--entrypoints.websecure.http.tls.domains[0].sans=a.example.com,b.example.com", "--entrypoints.websecure.forwardedHeaders.trustedIPs=10.0.0.0/8,192.168.1.1",
				"--certificatesResolvers.le.acme.tlsChallenge", "--entrypoints.websecure.http.tls.certresolver=le", "--global.sendAnonymousUsage=false"},
			check: func(t *testing.T, c *config.Static) {
				eq(t, "ping", c.Ping != nil, true)
				d := c.EntryPoints["websecure"].HTTP.TLS.Domains
				eq(t, "domains", len(d), 1)
				eq(t, "main", d[0].Main, "example.com")
				eq(t, "sans", strings.Join(d[0].SANs, " "), "a.example.com b.example.com")
				eq(t, "trusted", len(c.EntryPoints["websecure"].ForwardedHeaders.TrustedIPs), 2)
				eq(t, "tls challenge", c.CertificatesResolvers["le"].ACME.TLSChallenge != nil, true)
			},
		},
		{
			desc: "environment variables",
			env: []string{"PATH=/bin", "TRAEFIK_ENTRYPOINTS_WEB_ADDRESS=:8000", "TRAEFIK_PROVIDERS_DOCKER=true", "TRAEFIK_PROVIDERS_DOCKER_EXPOSEDBYDEFAULT=false",
				"TRAEFIK_LOG_LEVEL=WARN", "BERTH_ENTRYPOINTS_WEB_TRANSPORT_RESPONDINGTIMEOUTS_READTIMEOUT=5s", "TRAEFIK_METRICS_PROMETHEUS_BUCKETS=0.1,0.5",
				"TRAEFIK_ENTRYPOINTS_MY_EP_ADDRESS=:9000"},
			check: func(t *testing.T, c *config.Static) {
				eq(t, "web", c.EntryPoints["web"].Address, ":8000")
				eq(t, "read timeout", c.EntryPoints["web"].Transport.RespondingTimeouts.ReadTimeout.D(), 5*time.Second)
				eq(t, "idle timeout default", c.EntryPoints["web"].Transport.RespondingTimeouts.IdleTimeout.D(), 3*time.Minute)
				eq(t, "docker", c.Providers.Docker.ExposedByDefault, false)
				eq(t, "log", c.Log.Level, "WARN")
				eq(t, "buckets", len(c.Metrics.Prometheus.Buckets), 2)
			},
			// A map key takes one part of the name: MY is the
			// entrypoint, EP_ADDRESS is not a key of an entrypoint.
			issues: []string{`env TRAEFIK_ENTRYPOINTS_MY_EP_ADDRESS: unknown environment variable "TRAEFIK_ENTRYPOINTS_MY_EP_ADDRESS" (ignored)`,
				`~default: "entryPoints.my.address": an entrypoint needs an address`},
		},
		{
			desc:  "YAML file",
			args:  []string{"--configFile={dir}/traefik.yml"},
			files: map[string]string{"traefik.yml": "entryPoints:\n  web:\n    address: \":80\"\n    http:\n      redirections:\n        entryPoint:\n          to: websecure\n  websecure:\n    address: \":443\"\napi:\n  dashboard: true\nproviders:\n  docker:\n    exposedByDefault: false\n"},
			check: func(t *testing.T, c *config.Static) {
				eq(t, "websecure", c.EntryPoints["websecure"].Address, ":443")
				eq(t, "redirect scheme default", c.EntryPoints["web"].HTTP.Redirections.EntryPoint.Scheme, "https")
				eq(t, "api", c.API.Dashboard, true)
				eq(t, "no traefik entrypoint without insecure API", c.EntryPoints["traefik"] == nil, true)
			},
		},
		{
			desc:  "TOML file named by --configfile",
			args:  []string{"--configfile", "{dir}/traefik.toml"},
			files: map[string]string{"traefik.toml": "[entryPoints.web]\naddress = \":80\"\n\n[entryPoints.web.forwardedHeaders]\ntrustedIPs = [\"127.0.0.1/32\"]\n\n[log]\nlevel = \"INFO\"\n[ping]\n"},
			check: func(t *testing.T, c *config.Static) {
				eq(t, "trusted", c.EntryPoints["web"].ForwardedHeaders.TrustedIPs[0], "127.0.0.1/32")
				eq(t, "log", c.Log.Level, "INFO")
				eq(t, "ping on", c.Ping != nil, true)
				eq(t, "traefik entrypoint for ping", c.EntryPoints["traefik"].Address, ":8080")
			},
		},
		{
			desc:  "precedence: flags over environment over file",
			args:  []string{"--configFile={dir}/traefik.yml", "--entryPoints.WEB.address=:3"},
			env:   []string{"TRAEFIK_ENTRYPOINTS_WEB_ADDRESS=:2", "TRAEFIK_LOG_LEVEL=DEBUG", "BERTH_LOG_LEVEL=TRACE"},
			files: map[string]string{"traefik.yml": "entryPoints:\n  web:\n    address: :1\n    asDefault: true\n  other:\n    address: :4\nlog:\n  level: ERROR\n  format: json\n"},
			check: func(t *testing.T, c *config.Static) {
				eq(t, "entrypoints", len(c.EntryPoints), 2)
				eq(t, "web from flag", c.EntryPoints["web"].Address, ":3")
				eq(t, "web keeps file setting", c.EntryPoints["web"].AsDefault, true)
				eq(t, "other from file", c.EntryPoints["other"].Address, ":4")
				eq(t, "log level from BERTH_", c.Log.Level, "TRACE")
				eq(t, "log format from file", c.Log.Format, "json")
			},
		},
		{
			desc:   "unknown flag with suggestion",
			args:   []string{"--entrypoints.web.adress=:80", "--entrypoint.websecure.address=:443", "--pign"},
			issues: []string{`flag --entrypoints.web.adress: unknown flag "--entrypoints.web.adress"; did you mean "--entryPoints.web.address"?`, `flag --entrypoint.websecure.address: unknown flag "--entrypoint.websecure.address"; did you mean "--entryPoints.websecure.address"?`, `flag --pign: unknown flag "--pign"; did you mean "--ping"?`, `~"entryPoints.web.address": an entrypoint needs an address`},
		},
		{
			desc:  "Traefik options berth lacks are named as such, not as typos",
			args:  []string{"--configFile={dir}/traefik.yml", "--entrypoints.web.address=:80", "--providers.kubernetescrd=true", "--tracing.otlp=true"},
			env:   []string{"TRAEFIK_EXPERIMENTAL_PLUGINS_X_VERSION=v1"},
			files: map[string]string{"traefik.yml": "metrics:\n  datadog: {}\n"},
			issues: []string{
				`{dir}/traefik.yml:2:3: "metrics.datadog": berth does not support this Traefik option (berth exports Prometheus metrics)`,
				`env TRAEFIK_EXPERIMENTAL_PLUGINS_X_VERSION: berth does not support this Traefik option (plugins and other experimental features) (ignored)`,
				`flag --providers.kubernetescrd: "providers.kubernetescrd": berth does not support this Traefik option (berth's providers are docker and file)`,
				`flag --tracing.otlp: "tracing": berth does not support this Traefik option`,
			},
		},
		{
			desc: "proxyProtocol needs trusted IPs",
			args: []string{"--entrypoints.web.address=:80", "--entrypoints.web.proxyprotocol=true", "--entrypoints.lb.address=:81", "--entrypoints.lb.proxyprotocol.trustedips=10.0.0.0/8,nope"},
			issues: []string{
				`flag --entrypoints.lb.proxyprotocol.trustedips: "entryPoints.lb.proxyProtocol.trustedIPs[1]" = "nope": not an IP address or CIDR range (such as 10.0.0.0/8)`,
				`flag --entrypoints.web.proxyprotocol: "entryPoints.web.proxyProtocol": set proxyProtocol.trustedIPs to the addresses of the load balancers that send the PROXY header (or insecure=true to trust anyone)`,
			},
		},
		{
			desc:   "file provider needs exactly one of filename and directory",
			args:   []string{"--providers.file.filename=a.yml", "--providers.file.directory=/etc/berth"},
			issues: []string{`flag --providers.file.directory: "providers.file.directory" = "/etc/berth": set providers.file.filename or providers.file.directory, not both`},
		},
		{
			desc:   "unknown environment variable with suggestion",
			env:    []string{"TRAEFIK_PROVIDERS_DOCKER_EXPOSEDBYDEFAUL=false"},
			issues: []string{`env TRAEFIK_PROVIDERS_DOCKER_EXPOSEDBYDEFAUL: unknown environment variable "TRAEFIK_PROVIDERS_DOCKER_EXPOSEDBYDEFAUL"; did you mean "TRAEFIK_PROVIDERS_DOCKER_EXPOSEDBYDEFAULT"? (ignored)`},
		},
		{
			desc:   "unknown key in a file with its position",
			args:   []string{"--configFile={dir}/traefik.yml"},
			files:  map[string]string{"traefik.yml": "entryPoints:\n  web:\n    adress: \":80\"\n"},
			issues: []string{`{dir}/traefik.yml:3:5: "entryPoints.web.adress": unknown key "adress"; did you mean "address"?`, `~"entryPoints.web.address": an entrypoint needs an address`},
		},
		{
			desc: "validation errors name where the value came from",
			args: []string{"--entrypoints.web.address=80", "--entrypoints.web.http.redirections.entrypoint.to=websecure",
				"--entrypoints.web.forwardedheaders.trustedips=10.0.0.0/33", "--log.level=verbose", "--ping.entrypoint=admin",
				"--entrypoints.udp.address=:53/udp", "--accesslog.format=xml", "--entrypoints.tls.address=:443", "--entrypoints.tls.http.tls.certresolver=le"},
			issues: []string{
				`flag --entrypoints.tls.http.tls.certresolver: "entryPoints.tls.http.tls.certResolver" = "le": no certificate resolver named "le" (none are defined)`,
				`flag --entrypoints.udp.address: "entryPoints.udp.address" = ":53/udp": UDP entrypoints are not supported; berth serves HTTP over TCP`,
				`flag --entrypoints.web.address: "entryPoints.web.address" = "80": not an address: want "host:port" or ":port", such as ":80"`,
				`flag --entrypoints.web.forwardedheaders.trustedips: "entryPoints.web.forwardedHeaders.trustedIPs[0]" = "10.0.0.0/33": not an IP address or CIDR range (such as 10.0.0.0/8)`,
				`flag --entrypoints.web.http.redirections.entrypoint.to: "entryPoints.web.http.redirections.entryPoint.to" = "websecure": no entrypoint named "websecure" (defined: tls, udp, web)`,
				`flag --log.level: "log.level" = "verbose": want one of TRACE, DEBUG, INFO, WARN, WARNING, ERROR, FATAL, PANIC`,
				`flag --accesslog.format: "accessLog.format" = "xml": want one of common, genericCLF, json`,
				`flag --ping.entrypoint: "ping.entryPoint" = "admin": no entrypoint named "admin" (defined: tls, udp, web)`,
			},
		},
		{
			desc:   "type errors",
			args:   []string{"--entrypoints.web.address=:80", "--entrypoints.web.transport.respondingtimeouts.readtimeout=soon", "--api=maybe", "--entrypoints.web.http2.maxconcurrentstreams=x"},
			issues: []string{`~flag --entrypoints.web.transport.respondingtimeouts.readtimeout: "entryPoints.web.transport.respondingTimeouts.readTimeout": invalid value "soon" for "readtimeout": invalid duration`, `flag --entrypoints.web.http2.maxconcurrentstreams: "entryPoints.web.http2.maxConcurrentStreams": invalid value "x" for "maxconcurrentstreams": want an integer`, `flag --api: "api": invalid value "maybe" for "api": want true, false or a section of keys`},
		},
		{
			desc:    "positional argument",
			args:    []string{"--ping", "--log.level=DEBUG", "serve"},
			wantErr: `unexpected argument "serve"`,
		},
		{
			desc:    "YAML syntax error",
			args:    []string{"--configFile={dir}/traefik.yml"},
			files:   map[string]string{"traefik.yml": "entryPoints:\n  web:\n    address: \":80\"\n   bad: 1\n"},
			wantErr: `{dir}/traefik.yml:4: invalid YAML`,
		},
		{
			desc:    "TOML syntax error",
			args:    []string{"--configFile={dir}/traefik.toml"},
			files:   map[string]string{"traefik.toml": "[entryPoints.web]\naddress = :80\n"},
			wantErr: `{dir}/traefik.toml:2:11: invalid TOML`,
		},
		{
			desc:    "missing file",
			args:    []string{"--configFile={dir}/nope.yml"},
			wantErr: "reading the configuration file",
		},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			dir := t.TempDir()
			for name, content := range tt.files {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			sub := func(s string) string { return strings.ReplaceAll(s, "{dir}", dir) }
			args := make([]string, len(tt.args))
			for i, a := range tt.args {
				args[i] = sub(a)
			}
			cfg, issues, err := Load(args, tt.env)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), sub(tt.wantErr)) {
					t.Fatalf("error = %v, want one containing %q", err, sub(tt.wantErr))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, i := range issues {
				got = append(got, i.Error())
				// Unknown environment variables are warnings: the
				// environment holds other tools' variables too.
				if wantFatal := !strings.HasPrefix(i.Source, "env "); i.Fatal != wantFatal {
					t.Errorf("issue fatal=%v, want %v: %v", i.Fatal, wantFatal, i)
				}
			}
			if !matchIssues(got, tt.issues, sub) {
				t.Errorf("issues:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(tt.issues, "\n  "))
			}
			if tt.check != nil {
				tt.check(t, cfg)
			}
		})
	}
}

func matchIssues(got, want []string, sub func(string) string) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		w := sub(want[i])
		if s, ok := strings.CutPrefix(w, "~"); ok {
			if !strings.Contains(got[i], s) {
				return false
			}
		} else if got[i] != w {
			return false
		}
	}
	return true
}

func eq[T comparable](t *testing.T, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}
