package staticconf

import (
	"fmt"
	"strings"

	"github.com/berthproxy/berth/pkg/config"
	"github.com/berthproxy/berth/pkg/decode"
)

// issueFor turns a decoding error into a fatal issue. An unknown key is
// named the way the user wrote it: as a flag, an environment variable, or a
// key at a file position, and so is the suggestion.
func issueFor(e *decode.Error) config.Issue {
	is := config.Issue{Source: e.Pos, Kind: "static", Key: e.Path, Msg: e.Msg, Fatal: true}
	if e.Key == "" {
		return is
	}
	if note, ok := traefikOnly[genericPath(e.Path)]; ok {
		// The key is right for Traefik; a did-you-mean would mislead.
		is.Msg = "berth does not support this Traefik option"
		if note != "" {
			is.Msg += " (" + note + ")"
		}
		if strings.HasPrefix(e.Pos, "env ") {
			is.Key, is.Fatal, is.Msg = "", false, is.Msg+" (ignored)"
		}
		return is
	}
	switch {
	case strings.HasPrefix(e.Pos, "flag "):
		is.Key = ""
		is.Msg = fmt.Sprintf("unknown flag %q", strings.TrimPrefix(e.Pos, "flag "))
		if e.Suggestion != "" {
			is.Msg += fmt.Sprintf("; did you mean %q?", "--"+e.Suggestion)
		}
	case strings.HasPrefix(e.Pos, "env "):
		name := strings.TrimPrefix(e.Pos, "env ")
		is.Key = ""
		is.Msg = fmt.Sprintf("unknown environment variable %q", name)
		// The environment holds more than berth's configuration: other
		// tools' BERTH_* variables, and Kubernetes injects
		// TRAEFIK_PORT-style variables for a Service named traefik. An
		// unknown one is therefore reported, not fatal.
		is.Fatal = false
		if e.Suggestion != "" {
			prefix := envPrefixes[0]
			for _, p := range envPrefixes {
				if strings.HasPrefix(name, p) {
					prefix = p
				}
			}
			is.Msg += fmt.Sprintf("; did you mean %q?", prefix+envName(e.Suggestion))
		}
		is.Msg += " (ignored)"
	}
	return is
}

// traefikOnly maps the lower-cased paths of Traefik's static options that
// berth lacks to a note on what berth offers instead (or nothing).
var traefikOnly = map[string]string{
	"experimental":                "plugins and other experimental features",
	"tracing":                     "",
	"hub":                         "Traefik Hub",
	"pilot":                       "",
	"spiffe":                      "",
	"ocsp":                        "",
	"core":                        "the v2 rule syntax switch; berth speaks the v3 syntax",
	"tcpserverstransport":         "berth routes HTTP only",
	"providers.kubernetescrd":     providersNote,
	"providers.kubernetesingress": providersNote,
	"providers.kubernetesgateway": providersNote,
	"providers.swarm":             providersNote,
	"providers.consulcatalog":     providersNote,
	"providers.consul":            providersNote,
	"providers.ecs":               providersNote,
	"providers.nomad":             providersNote,
	"providers.etcd":              providersNote,
	"providers.redis":             providersNote,
	"providers.zookeeper":         providersNote,
	"providers.http":              providersNote,
	"providers.rest":              providersNote,
	"providers.plugin":            providersNote,
	"metrics.datadog":             metricsNote,
	"metrics.influxdb2":           metricsNote,
	"metrics.statsd":              metricsNote,
	"metrics.otlp":                metricsNote,
	// Entrypoint options; genericPath spells any entrypoint's name "*".
	"entrypoints.*.http3":                      "HTTP/3 over QUIC",
	"entrypoints.*.udp":                        "berth routes HTTP only",
	"entrypoints.*.allowacmebypass":            "",
	"entrypoints.*.observability":              "",
	"entrypoints.*.reuseport":                  "",
	"entrypoints.*.http.encodequerysemicolons": "",
}

const (
	providersNote = "berth's providers are docker and file"
	metricsNote   = "berth exports Prometheus metrics"
)

// genericPath lower-cases a key path and replaces an entrypoint's name
// with "*": "entryPoints.web.http3" is "entrypoints.*.http3".
func genericPath(path string) string {
	p := strings.ToLower(path)
	if rest, ok := strings.CutPrefix(p, "entrypoints."); ok {
		if _, after, ok := strings.Cut(rest, "."); ok {
			return "entrypoints.*." + after
		}
	}
	return p
}

// envName spells a key path as an environment variable name:
// "entryPoints.web.http.tls.domains[0].main" is
// "ENTRYPOINTS_WEB_HTTP_TLS_DOMAINS_0_MAIN".
func envName(path string) string {
	r := strings.NewReplacer(".", "_", "[", "_", "]", "")
	return strings.ToUpper(r.Replace(path))
}
