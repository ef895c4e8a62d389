// Package routing compiles the merged dynamic configuration into an
// immutable routing Table: routers indexed by entrypoint and host and sorted
// by priority, each with its middleware chain and service handler built.
//
// A Table is never mutated after Build. The server swaps whole tables with an
// atomic pointer, so a request sees one consistent configuration from start to
// end. State that must outlive a swap (upstream connections, balancer
// rotation) lives in Pools, which the caller keeps across builds.
package routing

import (
	"net/http"
	"strings"

	"github.com/berthproxy/berth/pkg/config"
	"github.com/berthproxy/berth/pkg/rules"
	"github.com/berthproxy/berth/pkg/tlsx"
)

// Status values for objects in the table, as the API reports them.
const (
	StatusEnabled  = "enabled"
	StatusWarning  = "warning"
	StatusDisabled = "disabled"
)

// Table is a compiled, immutable routing configuration.
type Table struct {
	entryPoints map[string]*epRoutes
	tls         *tlsx.Store
	tlsOptions  map[string]*config.TLSOption // by lower-cased host
	defaultTLS  *config.TLSOption

	// Routers, Services and Middlewares describe every object of the
	// configuration with its status and errors, for the API and `berth check`.
	Routers     map[string]*RouterInfo
	Services    map[string]*ServiceInfo
	Middlewares map[string]*MiddlewareInfo
	// Issues are all problems: the providers' decoding issues and the ones
	// found while building.
	Issues []config.Issue
	// Generation is the watcher generation the table was built from.
	Generation uint64
}

// RouterInfo is a router as built, with its status.
type RouterInfo struct {
	*config.Router
	Name        string   `json:"name"`
	Provider    string   `json:"provider"`
	Status      string   `json:"status"`
	Errors      []string `json:"error,omitempty"`
	EntryPoints []string `json:"using,omitempty"`
	Priority    int      `json:"priority"`
}

// ServiceInfo is a service as built, with its status.
type ServiceInfo struct {
	*config.Service
	Name     string   `json:"name"`
	Provider string   `json:"provider"`
	Status   string   `json:"status"`
	Errors   []string `json:"error,omitempty"`
	UsedBy   []string `json:"usedBy,omitempty"`
}

// MiddlewareInfo is a middleware as built, with its status.
type MiddlewareInfo struct {
	*config.Middleware
	Name     string   `json:"name"`
	Provider string   `json:"provider"`
	Status   string   `json:"status"`
	Errors   []string `json:"error,omitempty"`
	UsedBy   []string `json:"usedBy,omitempty"`
}

// route is one enabled router on one entrypoint.
type route struct {
	name     string
	rule     *rules.Rule
	priority int
	handler  http.Handler
}

// hostIndex finds the routers that may match a request by its host, so
// that a request does not test every router of the configuration.
type hostIndex struct {
	exact    map[string][]*route // host → routers for it, wildcards and any-host ones merged in, by priority
	wildcard map[string][]*route // "*.example.com" → wildcard routers plus any-host ones
	any      []*route            // routers that match any host
}

// epRoutes holds an entrypoint's routers: plain HTTP and TLS routers are
// kept apart, as in Traefik, because a router without `tls` does not serve
// HTTPS requests and the other way round.
type epRoutes struct {
	plain hostIndex
	tls   hostIndex
}

// TLS returns the certificate store of the table.
func (t *Table) TLS() *tlsx.Store { return t.tls }

// TLSOption returns the TLS options for a server name: the options named by
// a TLS router whose rule requires that host, else the default options.
func (t *Table) TLSOption(serverName string) *config.TLSOption {
	name := strings.ToLower(serverName)
	if o, ok := t.tlsOptions[name]; ok {
		return o
	}
	// A router for Host(`*.example.com`) names options for every single
	// label under example.com.
	if i := strings.IndexByte(name, '.'); i > 0 && len(t.tlsOptions) > 0 {
		if o, ok := t.tlsOptions["*"+name[i:]]; ok {
			return o
		}
	}
	return t.defaultTLS
}

// Handler returns the handler for an entrypoint, or nil when the table has
// no routers on it. The handler answers 404 when no router matches.
func (t *Table) Handler(entryPoint string) http.Handler {
	if ep, ok := t.entryPoints[entryPoint]; ok {
		return ep
	}
	return nil
}

// ServeHTTP routes a request to the first matching router.
func (e *epRoutes) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	idx := &e.plain
	if r.TLS != nil {
		idx = &e.tls
	}
	if rt := idx.match(r); rt != nil {
		rt.handler.ServeHTTP(w, r)
		return
	}
	NotFound(w)
}

// NotFound writes berth's 404 answer, the same as Traefik's body.
func NotFound(w http.ResponseWriter) {
	h := w.Header()
	h["Content-Type"] = []string{"text/plain; charset=utf-8"}
	h["X-Content-Type-Options"] = []string{"nosniff"}
	w.WriteHeader(http.StatusNotFound)
	_, _ = w.Write([]byte("404 page not found\n"))
}

func (x *hostIndex) match(r *http.Request) *route {
	list := x.candidates(r.Host)
	for _, rt := range list {
		if rt.rule.Match(r) {
			return rt
		}
	}
	return nil
}

// candidates returns the routers that may match host, highest priority
// first. It avoids allocation for hosts that are already lower case.
func (x *hostIndex) candidates(hostport string) []*route {
	if len(x.exact) == 0 && len(x.wildcard) == 0 {
		return x.any
	}
	host := canonicalHost(hostport)
	if l, ok := x.exact[host]; ok {
		return l
	}
	if i := strings.IndexByte(host, '.'); i > 0 && len(x.wildcard) > 0 {
		if l, ok := x.wildcard["*"+host[i:]]; ok {
			return l
		}
	}
	return x.any
}

// canonicalHost strips the port and a trailing dot and lower-cases the host.
func canonicalHost(h string) string {
	if len(h) > 0 && h[0] == '[' {
		if i := strings.IndexByte(h, ']'); i > 0 {
			return strings.ToLower(h[1:i])
		}
	} else if i := strings.LastIndexByte(h, ':'); i >= 0 && strings.IndexByte(h, ':') == i {
		h = h[:i]
	}
	h = strings.TrimSuffix(h, ".")
	for i := 0; i < len(h); i++ {
		if c := h[i]; c >= 'A' && c <= 'Z' {
			return strings.ToLower(h)
		}
	}
	return h
}

// Close releases what the table holds once no request uses it any more.
// Tables hold no resources today (connections and balancer state live in
// Pools); Close exists so that middlewares holding goroutines can be
// stopped when a later one needs it.
func (t *Table) Close() {}
