package routing

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"math"
	"net/http"
	"os"
	"sort"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/berthproxy/berth/pkg/config"
	"github.com/berthproxy/berth/pkg/metrics"
	"github.com/berthproxy/berth/pkg/middleware"
	"github.com/berthproxy/berth/pkg/proxy"
	"github.com/berthproxy/berth/pkg/rules"
	"github.com/berthproxy/berth/pkg/tlsx"
)

// InternalSuffix marks services that berth provides itself (ping, API).
const InternalSuffix = "@internal"

// Deps is what Build needs besides the dynamic configuration.
type Deps struct {
	// EntryPoints are the static entrypoints, by name.
	EntryPoints map[string]*config.EntryPoint
	// ServersTransport is the static default transport; nil means
	// Traefik's defaults.
	ServersTransport *config.ServersTransport
	// Internal are berth's own services by qualified name
	// ("ping@internal"), which routers may name like any other service.
	Internal map[string]http.Handler
	// Pools is the state that outlives tables; it must not be nil.
	Pools  *Pools
	Logger *zap.Logger
	// Metrics, when set, gets an observer per router, service and server
	// (observe.go); nil leaves the handlers unwrapped.
	Metrics *metrics.Registry
}

// builder holds the state of one Build call.
type builder struct {
	cfg    *config.Dynamic
	deps   Deps
	t      *Table
	svcs   map[string]http.Handler // built services by qualified name
	svcErr map[string]error
	trans  map[string]proxy.TransportOptions

	// svcBuild is the state of building services (services.go).
	svcBuild
}

// Build compiles a merged configuration (names qualified as name@provider)
// into a Table. It never fails as a whole: an object that cannot be built is
// disabled with its error recorded in the table's Issues and info maps, and
// the rest is built.
func Build(cfg *config.Dynamic, issues []config.Issue, generation uint64, deps Deps) *Table {
	if cfg == nil {
		cfg = &config.Dynamic{}
	}
	if cfg.HTTP == nil {
		cfg.HTTP = &config.HTTP{}
	}
	if deps.Logger == nil {
		deps.Logger = zap.NewNop()
	}
	b := &builder{
		cfg:  cfg,
		deps: deps,
		t: &Table{
			entryPoints: map[string]*epRoutes{},
			tlsOptions:  map[string]*config.TLSOption{},
			Routers:     map[string]*RouterInfo{},
			Services:    map[string]*ServiceInfo{},
			Middlewares: map[string]*MiddlewareInfo{},
			Issues:      append([]config.Issue(nil), issues...),
			Generation:  generation,
		},
		svcs:   map[string]http.Handler{},
		svcErr: map[string]error{},
		trans:  map[string]proxy.TransportOptions{},
	}
	b.buildTLS()
	for name, m := range cfg.HTTP.Middlewares {
		b.t.Middlewares[name] = &MiddlewareInfo{Middleware: m, Name: name, Provider: providerOf(name), Status: StatusEnabled}
	}
	b.services()
	perEP := map[string][]*route{}
	perEPTLS := map[string][]*route{}
	for _, name := range sortedKeys(cfg.HTTP.Routers) {
		b.router(name, cfg.HTTP.Routers[name], perEP, perEPTLS)
	}
	for ep := range deps.EntryPoints {
		b.t.entryPoints[ep] = &epRoutes{plain: newHostIndex(perEP[ep]), tls: newHostIndex(perEPTLS[ep])}
	}
	for _, s := range b.t.Services {
		sort.Strings(s.UsedBy)
	}
	for _, m := range b.t.Middlewares {
		sort.Strings(m.UsedBy)
	}
	return b.t
}

// router validates and compiles one router and adds it to the entrypoints
// it listens on.
func (b *builder) router(name string, r *config.Router, perEP, perEPTLS map[string][]*route) {
	info := &RouterInfo{Router: r, Name: name, Provider: providerOf(name), Status: StatusEnabled}
	b.t.Routers[name] = info
	fail := func(key, value, format string, args ...any) {
		msg := fmt.Sprintf(format, args...)
		info.Status = StatusDisabled
		info.Errors = append(info.Errors, msg)
		b.t.Issues = append(b.t.Issues, config.Issue{
			Source: r.SourceOf(key), Provider: info.Provider, Kind: "router", Object: name,
			Key: key, Value: value, Msg: msg, Fatal: true,
		})
	}
	warn := func(key, value, format string, args ...any) {
		msg := fmt.Sprintf(format, args...)
		if info.Status == StatusEnabled {
			info.Status = StatusWarning
		}
		info.Errors = append(info.Errors, msg)
		b.t.Issues = append(b.t.Issues, config.Issue{
			Source: r.SourceOf(key), Provider: info.Provider, Kind: "router", Object: name,
			Key: key, Value: value, Msg: msg,
		})
	}

	if strings.TrimSpace(r.Rule) == "" {
		fail("rule", "", "router has no rule; add one such as Host(`example.com`)")
		return
	}
	if r.RuleSyntax != "" && !strings.EqualFold(r.RuleSyntax, "v3") && !strings.EqualFold(r.RuleSyntax, "default") {
		fail("ruleSyntax", r.RuleSyntax, "only the v3 rule syntax is supported; remove ruleSyntax or set it to v3")
		return
	}
	rule, err := rules.Parse(r.Rule)
	if err != nil {
		fail("rule", r.Rule, "rule: %v", err)
		return
	}
	info.Priority = r.Priority
	if info.Priority == 0 {
		info.Priority = rules.DefaultPriority(r.Rule)
	}

	eps := r.EntryPoints
	if len(eps) == 0 {
		eps = b.defaultEntryPoints()
	}
	var valid []string
	for _, ep := range eps {
		if _, ok := b.deps.EntryPoints[ep]; !ok {
			warn("entryPoints", ep, "entrypoint %q does not exist (known: %s)", ep, strings.Join(sortedKeys(b.deps.EntryPoints), ", "))
			continue
		}
		valid = append(valid, ep)
	}
	if len(valid) == 0 {
		fail("entryPoints", strings.Join(eps, ","), "router is on no existing entrypoint")
		return
	}
	info.EntryPoints = valid

	if r.Service == "" {
		fail("service", "", "router has no service")
		return
	}
	svcName := qualify(r.Service, info.Provider)
	svc, err := b.serviceHandler(svcName)
	if err != nil {
		fail("service", r.Service, "%v", err)
		return
	}
	if si, ok := b.t.Services[svcName]; ok {
		si.UsedBy = append(si.UsedBy, name)
	}

	if r.TLS != nil && r.TLS.Options != "" {
		opt := b.tlsOption(qualify(r.TLS.Options, info.Provider))
		if opt == nil {
			warn("tls.options", r.TLS.Options, "TLS options %q do not exist or are invalid; using the default options", r.TLS.Options)
		} else {
			for _, h := range rule.Hosts() {
				b.t.tlsOptions[h] = opt
			}
		}
	}

	for _, ep := range valid {
		epCfg := b.deps.EntryPoints[ep]
		var epMW []string
		isTLS := r.TLS != nil
		if epCfg != nil && epCfg.HTTP != nil {
			epMW = epCfg.HTTP.Middlewares
			if epCfg.HTTP.TLS != nil {
				isTLS = true
			}
		}
		// Entrypoint middlewares are named with their provider, as in
		// Traefik; router middlewares resolve in the router's provider.
		chain := make([]string, 0, len(epMW)+len(r.Middlewares))
		chain = append(chain, epMW...)
		for _, m := range r.Middlewares {
			chain = append(chain, qualify(m, info.Provider))
		}
		h, err := b.chain(chain, info.Provider, svc, nil, name)
		if err != nil {
			fail("middlewares", strings.Join(r.Middlewares, ","), "%v", err)
			return
		}
		rt := &route{name: name, rule: rule, priority: info.Priority, handler: b.observeRouter(name, svcName, h)}
		if isTLS {
			perEPTLS[ep] = append(perEPTLS[ep], rt)
		} else {
			perEP[ep] = append(perEP[ep], rt)
		}
	}
}

// defaultEntryPoints are the entrypoints of a router that names none:
// those marked asDefault, else every entrypoint but the internal one.
func (b *builder) defaultEntryPoints() []string {
	var marked, all []string
	for _, name := range sortedKeys(b.deps.EntryPoints) {
		ep := b.deps.EntryPoints[name]
		if ep != nil && ep.AsDefault {
			marked = append(marked, name)
		}
		if name != config.InternalEntryPoint {
			all = append(all, name)
		}
	}
	if len(marked) > 0 {
		return marked
	}
	return all
}

// chain wraps next in the named middlewares (qualified names), the first
// named running first. stack holds the chain middlewares being expanded, to
// detect cycles.
func (b *builder) chain(names []string, provider string, next http.Handler, stack []string, user string) (http.Handler, error) {
	h := next
	for i := len(names) - 1; i >= 0; i-- {
		qn := qualify(names[i], provider)
		for _, s := range stack {
			if s == qn {
				return nil, fmt.Errorf("middleware %q: reference cycle: %s -> %s", qn, strings.Join(stack, " -> "), qn)
			}
		}
		m, ok := b.cfg.HTTP.Middlewares[qn]
		if !ok {
			if msg, bad := b.undecoded("middleware", qn); bad {
				return nil, fmt.Errorf("middleware %q is disabled: %s", qn, msg)
			}
			return nil, fmt.Errorf("middleware %q does not exist%s", qn, suggest(qn, sortedKeys(b.cfg.HTTP.Middlewares)))
		}
		info := b.t.Middlewares[qn]
		if info.Status == StatusDisabled {
			return nil, fmt.Errorf("middleware %q is disabled: %s", qn, strings.Join(info.Errors, "; "))
		}
		if !contains(info.UsedBy, user) {
			info.UsedBy = append(info.UsedBy, user)
		}
		f, ok := middleware.Lookup(m.Type)
		if !ok {
			return nil, fmt.Errorf("middleware %q has unknown type %q", qn, m.Type)
		}
		spec, ok := m.Spec.(middleware.Spec)
		if !ok {
			return nil, fmt.Errorf("middleware %q has no options", qn)
		}
		mwProvider := providerOf(qn)
		inner := append(append([]string(nil), stack...), qn)
		ctx := middleware.BuildContext{
			Logger: b.deps.Logger.Named("middleware").With(zap.String("middleware", qn)),
			Chain: func(names []string, next http.Handler) (http.Handler, error) {
				return b.chain(names, mwProvider, next, inner, user)
			},
		}
		built, err := f.Build(ctx, qn, spec, h)
		if err != nil {
			msg := err.Error()
			if !contains(info.Errors, msg) && len(stack) == 0 {
				info.Status = StatusDisabled
				info.Errors = append(info.Errors, msg)
				b.t.Issues = append(b.t.Issues, config.Issue{
					Source: m.Source, Provider: info.Provider, Kind: "middleware", Object: qn, Msg: msg, Fatal: true,
				})
			}
			return nil, fmt.Errorf("middleware %q: %v", qn, err)
		}
		h = built
	}
	return h, nil
}

// undecoded reports whether the provider dropped the named object because
// it could not be decoded (an unknown middleware type, a bad value), and
// why. A reference to such an object then says that it is disabled and
// why, instead of claiming that it does not exist.
func (b *builder) undecoded(kind, name string) (string, bool) {
	for _, is := range b.t.Issues {
		if is.Fatal && is.Kind == kind && is.Object == name {
			return is.Msg, true
		}
	}
	return "", false
}

// serviceHandler returns the handler of a service, building it on first use.
func (b *builder) serviceHandler(name string) (http.Handler, error) {
	if strings.HasSuffix(name, InternalSuffix) {
		if h, ok := b.deps.Internal[name]; ok {
			return h, nil
		}
		return nil, fmt.Errorf("internal service %q does not exist", name)
	}
	if h, ok := b.svcs[name]; ok {
		return h, nil
	}
	if err, ok := b.svcErr[name]; ok {
		return nil, fmt.Errorf("service %q is disabled: %v", name, err)
	}
	if msg, bad := b.undecoded("service", name); bad {
		return nil, fmt.Errorf("service %q is disabled: %s", name, msg)
	}
	return nil, fmt.Errorf("service %q does not exist%s", name, suggest(name, sortedKeys(b.cfg.HTTP.Services)))
}

// transport resolves a serversTransport reference into proxy options;
// empty means the static default.
func (b *builder) transport(ref, provider string) (proxy.TransportOptions, error) {
	key := ""
	var st *config.ServersTransport
	if ref != "" {
		key = qualify(ref, provider)
		var ok bool
		st, ok = b.cfg.HTTP.ServersTransports[key]
		if !ok {
			return proxy.TransportOptions{}, fmt.Errorf("serversTransport %q does not exist%s", key, suggest(key, sortedKeys(b.cfg.HTTP.ServersTransports)))
		}
	} else {
		st = b.deps.ServersTransport
	}
	if o, ok := b.trans[key]; ok {
		return o, nil
	}
	o, err := b.deps.Pools.transportOptions(st)
	if err != nil {
		return o, fmt.Errorf("serversTransport %q: %v", key, err)
	}
	b.trans[key] = o
	return o, nil
}

// transportOptions turns a serversTransport into proxy options with
// Traefik's defaults (dial 30 s, idle 90 s, 200 idle connections per host).
// The proxy pool keys connections by these options, with the TLS config
// compared by pointer, so an equal TLS config must be the same pointer in
// every build: it comes from the Pools' cache, keyed by its content.
func (p *Pools) transportOptions(st *config.ServersTransport) (proxy.TransportOptions, error) {
	o := proxy.TransportOptions{DialTimeout: 30 * time.Second, IdleConnTimeout: 90 * time.Second, MaxIdleConnsPerHost: 200}
	if st == nil {
		return o, nil
	}
	if st.MaxIdleConnsPerHost != 0 {
		o.MaxIdleConnsPerHost = st.MaxIdleConnsPerHost
	}
	if ft := st.ForwardingTimeouts; ft != nil {
		if ft.DialTimeout != 0 {
			o.DialTimeout = ft.DialTimeout.D()
		}
		o.ResponseHeaderTimeout = ft.ResponseHeaderTimeout.D()
		if ft.IdleConnTimeout != 0 {
			o.IdleConnTimeout = ft.IdleConnTimeout.D()
		}
	}
	if st.InsecureSkipVerify || st.ServerName != "" || len(st.RootCAs) > 0 {
		pems := make([][]byte, 0, len(st.RootCAs))
		key := sha256.New()
		fmt.Fprintf(key, "%t\x00%s\x00", st.InsecureSkipVerify, st.ServerName)
		for _, ca := range st.RootCAs {
			pem := []byte(ca)
			if !strings.Contains(ca, "-----BEGIN") {
				data, err := os.ReadFile(ca)
				if err != nil {
					return o, fmt.Errorf("rootCAs: %v", err)
				}
				pem = data
			}
			pems = append(pems, pem)
			key.Write(pem)
			key.Write([]byte{0})
		}
		tc, err := p.tlsConfig(string(key.Sum(nil)), func() (*tls.Config, error) {
			tc := &tls.Config{InsecureSkipVerify: st.InsecureSkipVerify, ServerName: st.ServerName} //nolint:gosec // the user asked for it
			if len(pems) > 0 {
				pool := x509.NewCertPool()
				for i, pem := range pems {
					if !pool.AppendCertsFromPEM(pem) {
						return nil, fmt.Errorf("rootCAs: %q holds no PEM certificate", st.RootCAs[i])
					}
				}
				tc.RootCAs = pool
			}
			return tc, nil
		})
		if err != nil {
			return o, err
		}
		o.TLSConfig = tc
	}
	return o, nil
}

// buildTLS loads certificates and TLS options.
func (b *builder) buildTLS() {
	store, issues := tlsx.Build(b.cfg.TLS)
	b.t.tls = store
	b.t.Issues = append(b.t.Issues, issues...)
	if b.cfg.TLS == nil {
		return
	}
	// tlsx.Build has reported invalid options; they are left out here
	// without touching the caller's configuration.
	for _, name := range sortedKeys(b.cfg.TLS.Options) {
		if o := b.tlsOption(name); o != nil && nameOf(name) == "default" {
			b.t.defaultTLS = o
		}
	}
}

// tlsOption returns the named TLS options, or nil when they do not exist
// or are invalid.
func (b *builder) tlsOption(name string) *config.TLSOption {
	if b.cfg.TLS == nil {
		return nil
	}
	o := b.cfg.TLS.Options[name]
	if o == nil || tlsx.ValidateOption(o) != nil {
		return nil
	}
	return o
}

// newHostIndex indexes routes by the hosts their rules require.
func newHostIndex(routes []*route) hostIndex {
	sortRoutes(routes)
	x := hostIndex{exact: map[string][]*route{}, wildcard: map[string][]*route{}}
	var any []*route
	hostsOf := map[*route][]string{}
	for _, rt := range routes {
		hs := rt.rule.Hosts()
		if len(hs) == 0 {
			any = append(any, rt)
			continue
		}
		hostsOf[rt] = hs
		for _, h := range hs {
			if strings.HasPrefix(h, "*.") {
				x.wildcard[h] = nil
			} else {
				x.exact[h] = nil
			}
		}
	}
	// Every list is the merge, in priority order, of the routers that
	// name the key and those that match any host; an exact host also gets
	// the routers of the wildcard that covers it.
	for _, rt := range routes {
		for _, h := range hostsOf[rt] {
			if strings.HasPrefix(h, "*.") {
				x.wildcard[h] = append(x.wildcard[h], rt)
				for e := range x.exact {
					if i := strings.IndexByte(e, '.'); i > 0 && "*"+e[i:] == h {
						x.exact[e] = append(x.exact[e], rt)
					}
				}
			} else {
				x.exact[h] = append(x.exact[h], rt)
			}
		}
	}
	for k, l := range x.exact {
		x.exact[k] = mergeRoutes(l, any)
	}
	for k, l := range x.wildcard {
		x.wildcard[k] = mergeRoutes(l, any)
	}
	x.any = any
	if len(x.exact) == 0 {
		x.exact = nil
	}
	if len(x.wildcard) == 0 {
		x.wildcard = nil
	}
	return x
}

// mergeRoutes merges two lists into one without duplicates, by priority.
func mergeRoutes(a, b []*route) []*route {
	seen := make(map[*route]bool, len(a)+len(b))
	out := make([]*route, 0, len(a)+len(b))
	for _, l := range [][]*route{a, b} {
		for _, rt := range l {
			if !seen[rt] {
				seen[rt] = true
				out = append(out, rt)
			}
		}
	}
	sortRoutes(out)
	return out
}

// sortRoutes orders by priority, highest first, then by name so that the
// order never depends on map iteration.
func sortRoutes(l []*route) {
	sort.SliceStable(l, func(i, j int) bool {
		if l[i].priority != l[j].priority {
			return l[i].priority > l[j].priority
		}
		return l[i].name < l[j].name
	})
}

// MaxPriority is the priority berth gives its own routers (ping, API) so
// that user routers do not shadow them, as Traefik does.
const MaxPriority = math.MaxInt32 - 1
