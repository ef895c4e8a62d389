package docker

import (
	"fmt"
	"sort"
	"strings"

	"github.com/berthproxy/berth/pkg/config"
)

// mergeContainers builds the provider's snapshot from every container's
// decoded configuration. An object that several containers define the same
// way (the replicas of one compose service) is kept once; a service's
// servers are those of all its containers. An object defined differently
// by two containers is reported with both origins and left out, since
// picking one would depend on which container happens to come first.
func mergeContainers(ds []*decoded) (*config.Dynamic, []config.Issue) {
	sort.Slice(ds, func(i, j int) bool {
		if ds[i].name != ds[j].name {
			return ds[i].name < ds[j].name
		}
		return ds[i].id < ds[j].id
	})
	out := &config.Dynamic{HTTP: &config.HTTP{
		Routers:     map[string]*config.Router{},
		Services:    map[string]*config.Service{},
		Middlewares: map[string]*config.Middleware{},
	}}
	var issues []config.Issue
	// defs collects, per "kind/name", every container's definition.
	defs := map[string][]def{}
	var order []string
	add := func(d *decoded, kind, name, source string) {
		k := kind + "/" + name
		if _, ok := defs[k]; !ok {
			order = append(order, k)
		}
		defs[k] = append(defs[k], def{d, source})
	}
	var certs []*config.CertAndStores
	for _, d := range ds {
		if !d.exposed {
			continue
		}
		issues = append(issues, d.issues...)
		h := d.cfg.HTTP
		for n, o := range h.Routers {
			add(d, "router", n, o.Source)
		}
		for n, o := range h.Services {
			add(d, "service", n, o.Source)
		}
		for n, o := range h.Middlewares {
			add(d, "middleware", n, o.Source)
		}
		for n, o := range h.ServersTransports {
			add(d, "serversTransport", n, o.Source)
		}
		if t := d.cfg.TLS; t != nil {
			for n, o := range t.Options {
				add(d, "tls", n, o.Source)
			}
			certs = append(certs, t.Certificates...)
		}
	}
	sort.Strings(order)
	for _, k := range order {
		list := defs[k]
		kind, name, _ := strings.Cut(k, "/")
		same := true
		for _, x := range list[1:] {
			if x.d.keys[k] != list[0].d.keys[k] {
				same = false
				break
			}
		}
		if !same {
			srcs := make([]string, len(list))
			for i, x := range list {
				srcs[i] = x.source
			}
			issues = append(issues, config.Issue{Source: list[0].source, Provider: ProviderName, Kind: kind, Object: name, Fatal: true,
				Msg: fmt.Sprintf("is defined differently by %s; no definition is used until they agree", joinAnd(dedupe(srcs)))})
			continue
		}
		first := list[0].d.cfg
		switch kind {
		case "router":
			out.HTTP.Routers[name] = first.HTTP.Routers[name]
		case "middleware":
			out.HTTP.Middlewares[name] = first.HTTP.Middlewares[name]
		case "serversTransport":
			if out.HTTP.ServersTransports == nil {
				out.HTTP.ServersTransports = map[string]*config.ServersTransport{}
			}
			out.HTTP.ServersTransports[name] = first.HTTP.ServersTransports[name]
		case "tls":
			if out.TLS == nil {
				out.TLS = &config.TLS{}
			}
			if out.TLS.Options == nil {
				out.TLS.Options = map[string]*config.TLSOption{}
			}
			out.TLS.Options[name] = first.TLS.Options[name]
		case "service":
			out.HTTP.Services[name] = mergeService(name, list)
		}
	}
	if len(certs) > 0 {
		if out.TLS == nil {
			out.TLS = &config.TLS{}
		}
		seen := map[string]bool{}
		for _, c := range certs {
			if k := jsonKey(c); !seen[k] {
				seen[k] = true
				out.TLS.Certificates = append(out.TLS.Certificates, c)
			}
		}
	}
	return out, issues
}

// mergeService copies the first definition of a service and gives it the
// servers of every container that defines it, in a stable order. The cached
// per-container services are never modified.
func mergeService(name string, list []def) *config.Service {
	svc := *list[0].d.cfg.HTTP.Services[name]
	if svc.LoadBalancer == nil {
		// A composite service names other services and has no servers
		// of its own; replicas that agree on it share it as it is.
		return &svc
	}
	lb := *svc.LoadBalancer
	lb.Servers = nil
	for _, x := range list {
		lb.Servers = append(lb.Servers, x.d.cfg.HTTP.Services[name].LoadBalancer.Servers...)
	}
	sort.SliceStable(lb.Servers, func(i, j int) bool { return lb.Servers[i].URL < lb.Servers[j].URL })
	if lb.Servers == nil {
		// An empty list, not a missing one: the service exists and
		// answers 503 until a server is ready.
		lb.Servers = []config.Server{}
	}
	svc.LoadBalancer = &lb
	return &svc
}

// def is one container's definition of an object.
type def struct {
	d      *decoded
	source string
}

// dedupe drops repeated strings, keeping the first of each.
func dedupe(l []string) []string {
	seen := map[string]bool{}
	out := l[:0:0]
	for _, s := range l {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// joinAnd joins "a", "b", "c" as "a, b and c".
func joinAnd(l []string) string {
	if len(l) <= 1 {
		return strings.Join(l, "")
	}
	return strings.Join(l[:len(l)-1], ", ") + " and " + l[len(l)-1]
}
