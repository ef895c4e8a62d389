package routing

import (
	"fmt"
	"net"
	"slices"
	"strings"

	"github.com/berthproxy/berth/pkg/config"
	"github.com/berthproxy/berth/pkg/rules"
)

// CertRequest is a certificate that a router needs from a certificate
// resolver (ACME): the names it must cover, the first being the main one.
type CertRequest struct {
	// Resolver is the certificate resolver named by tls.certResolver.
	Resolver string
	// Domains are lower case, without duplicates, the main name first.
	Domains []string
	// Router is the qualified name of the router that needs the
	// certificate, and Source where it was defined, for messages.
	Router string
	Source string
}

// CertRequests lists the certificates the enabled routers of a table need
// from certificate resolvers. A router names its resolver in
// tls.certResolver, or inherits the tls section of its entrypoint
// (entryPoints.<name>.http.tls) when it has none of its own, as in Traefik.
// Each tls.domains entry is one certificate; without tls.domains, one
// certificate covers the exact Host(...) names of the rule.
//
// Wildcard names need the DNS-01 challenge, which berth does not support,
// so they are left out with a warning; so are rules that name no host. The
// issues are of Kind "acme" and never fatal: the router keeps working with
// the default certificate. Requests are deduplicated by resolver and
// domain set, keeping the first router (by name) that asked.
func CertRequests(t *Table, entryPoints map[string]*config.EntryPoint) ([]CertRequest, []config.Issue) {
	var (
		out    []CertRequest
		issues []config.Issue
		seen   = map[string]bool{}
	)
	for _, name := range sortedKeys(t.Routers) {
		info := t.Routers[name]
		if info.Router == nil || info.Status == StatusDisabled {
			continue
		}
		warn := func(key, value, format string, args ...any) {
			issues = append(issues, config.Issue{
				Source: info.Source, Provider: info.Provider, Kind: "acme", Object: name,
				Key: key, Value: value, Msg: fmt.Sprintf(format, args...),
			})
		}
		for _, tlsCfg := range routerTLS(info, entryPoints) {
			if tlsCfg.CertResolver == "" {
				continue
			}
			var sets [][]string
			if len(tlsCfg.Domains) > 0 {
				for _, d := range tlsCfg.Domains {
					sets = append(sets, append([]string{d.Main}, d.SANs...))
				}
			} else {
				rule, err := rules.Parse(info.Rule)
				if err != nil {
					continue // Build has reported it and disabled the router.
				}
				hosts := rule.Hosts()
				if len(hosts) == 0 {
					warn("tls.certResolver", tlsCfg.CertResolver,
						"the rule names no host, so no certificate can be requested; add Host(`example.com`) to the rule or set tls.domains")
					continue
				}
				sets = append(sets, hosts)
			}
			for _, set := range sets {
				domains := certNames(set, func(n, why string) { warn("tls.domains", n, "%s", why) })
				if len(domains) == 0 {
					continue
				}
				key := tlsCfg.CertResolver + "|" + strings.Join(domains, ",")
				if seen[key] {
					continue
				}
				seen[key] = true
				out = append(out, CertRequest{Resolver: tlsCfg.CertResolver, Domains: domains, Router: name, Source: info.Source})
			}
		}
	}
	return out, issues
}

// routerTLS returns the tls sections that apply to a router: its own, or
// else those of its entrypoints.
func routerTLS(info *RouterInfo, entryPoints map[string]*config.EntryPoint) []*config.RouterTLS {
	if info.TLS != nil {
		return []*config.RouterTLS{info.TLS}
	}
	var out []*config.RouterTLS
	for _, ep := range info.EntryPoints {
		if c := entryPoints[ep]; c != nil && c.HTTP != nil && c.HTTP.TLS != nil && !slices.Contains(out, c.HTTP.TLS) {
			out = append(out, c.HTTP.TLS)
		}
	}
	return out
}

// certNames normalizes the names of one certificate and drops those an
// HTTP-01 or TLS-ALPN-01 order cannot cover, telling skip why.
func certNames(names []string, skip func(name, why string)) []string {
	var out []string
	for _, n := range names {
		n = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(n), "."))
		switch {
		case n == "":
			continue
		case strings.Contains(n, "*"):
			skip(n, "wildcard certificates need the DNS-01 challenge, which berth does not support; the name is left out")
			continue
		case net.ParseIP(n) != nil:
			skip(n, "certificates for IP addresses are not supported; the name is left out")
			continue
		}
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}
