package routing

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/berthproxy/berth/pkg/balancer"
	"github.com/berthproxy/berth/pkg/config"
	"github.com/berthproxy/berth/pkg/health"
	"github.com/berthproxy/berth/pkg/proxy"
)

// svcBuild is the part of one Build that builds services: it resolves
// composite services (weighted, mirroring, failover) through the services
// they name, detecting cycles, and collects the health checkers the table
// uses so that the health pool can stop the others.
type svcBuild struct {
	// health reports, per built service, whether it has an available
	// server, for weighted and failover parents.
	health   map[string]func() bool
	building []string // services being built, outermost first
	hs       *health.Session
	// usedLoads are the server URLs this build uses.
	usedLoads map[string]bool
}

// Defaults of passive health checking (nginx's max_fails=1 fail_timeout=10s,
// Traefik's maxFailedAttempts=1 failureWindow=10s).
const (
	defaultMaxFails    = 1
	defaultFailTimeout = 10 * time.Second
)

// defaultMirrorBody is the largest request body mirroring buffers when the
// configuration sets no maxBodySize. Traefik's default is unbounded; a
// proxy that buffers any body a client sends can be made to run out of
// memory, so berth bounds it and says so in docs/balancing.md.
const defaultMirrorBody = 1 << 20

// services builds every service of the configuration, then lets the health
// pool retire the checkers no service uses any more.
func (b *builder) services() {
	b.health = map[string]func() bool{}
	b.usedLoads = map[string]bool{}
	if b.deps.Pools.Health != nil {
		b.hs = b.deps.Pools.Health.Session()
	}
	for _, name := range sortedKeys(b.cfg.HTTP.Services) {
		b.service(name)
	}
	if b.hs != nil {
		b.hs.Commit()
	}
	b.deps.Pools.endBuild(b.usedLoads)
}

// service builds one service, once, and records its status.
func (b *builder) service(name string) {
	if _, done := b.t.Services[name]; done {
		return
	}
	s := b.cfg.HTTP.Services[name]
	info := &ServiceInfo{Service: s, Name: name, Provider: providerOf(name), Status: StatusEnabled}
	b.t.Services[name] = info
	b.building = append(b.building, name)
	h, healthy, err := b.buildService(name, s, info)
	b.building = b.building[:len(b.building)-1]
	if err != nil {
		info.Status = StatusDisabled
		info.Errors = append(info.Errors, err.Error())
		b.svcErr[name] = err
		b.t.Issues = append(b.t.Issues, config.Issue{
			Source: s.Source, Provider: info.Provider, Kind: "service", Object: name, Msg: err.Error(), Fatal: true,
		})
		return
	}
	if healthy == nil {
		healthy = func() bool { return true }
	}
	b.health[name] = healthy
	b.svcs[name] = b.observeService(name, h)
}

// child resolves a service named by a composite service, building it first
// if needed, and reports a reference cycle with its path.
func (b *builder) child(parent, ref string) (http.Handler, func() bool, error) {
	name := qualify(ref, providerOf(parent))
	for i, s := range b.building {
		if s == name {
			path := append(append([]string(nil), b.building[i:]...), name)
			return nil, nil, fmt.Errorf("service %q: reference cycle: %s", name, strings.Join(path, " -> "))
		}
	}
	if strings.HasSuffix(name, InternalSuffix) {
		h, err := b.serviceHandler(name)
		return h, func() bool { return true }, err
	}
	if _, ok := b.cfg.HTTP.Services[name]; ok {
		b.service(name)
	}
	h, err := b.serviceHandler(name)
	if err != nil {
		return nil, nil, err
	}
	return h, b.health[name], nil
}

func (b *builder) buildService(name string, s *config.Service, info *ServiceInfo) (http.Handler, func() bool, error) {
	switch {
	case s.LoadBalancer != nil:
		return b.buildLoadBalancer(name, s.LoadBalancer, info)
	case s.Weighted != nil:
		return b.buildWeighted(name, s.Weighted)
	case s.Mirroring != nil:
		return b.buildMirroring(name, s.Mirroring)
	case s.Failover != nil:
		return b.buildFailover(name, s.Failover)
	}
	return nil, nil, fmt.Errorf("service defines no kind of service; want one of loadBalancer, weighted, mirroring, failover")
}

func (b *builder) buildLoadBalancer(name string, lb *config.LoadBalancer, info *ServiceInfo) (http.Handler, func() bool, error) {
	strategy := strings.ToLower(lb.Strategy)
	if strategy == "" {
		strategy = balancer.Default
	}
	if _, ok := balancer.Lookup(strategy); !ok {
		return nil, nil, fmt.Errorf("unknown strategy %q (known: %s)", lb.Strategy, strings.Join(balancer.Strategies(), ", "))
	}
	if lb.Hash != nil && strategy != "hash" {
		return nil, nil, fmt.Errorf("hash options are set but the strategy is %q; set strategy: hash", strategy)
	}
	topts, err := b.transport(lb.ServersTransport, info.Provider)
	if err != nil {
		return nil, nil, err
	}
	var check *health.Config
	if lb.HealthCheck != nil {
		c, err := health.FromConfig(lb.HealthCheck)
		if err != nil {
			return nil, nil, err
		}
		c.TLS = topts.TLSConfig
		check = &c
	}
	hopts := balancer.HandlerOptions{QueueTimeout: lb.QueueTimeout.D()}
	if p := lb.PassiveHealthCheck; p != nil {
		hopts.MaxFails = max(p.MaxFails, p.MaxFailedAttempts)
		if hopts.MaxFails == 0 {
			hopts.MaxFails = defaultMaxFails
		}
		hopts.FailTimeout = max(p.FailTimeout.D(), p.FailureWindow.D())
		if hopts.FailTimeout == 0 {
			hopts.FailTimeout = defaultFailTimeout
		}
		if p.MaxFails < 0 || p.MaxFailedAttempts < 0 {
			return nil, nil, fmt.Errorf("passiveHealthCheck.maxFails must not be negative")
		}
	}
	pass := lb.PassHostHeader == nil || *lb.PassHostHeader
	var flush time.Duration
	if lb.ResponseForwarding != nil {
		flush = lb.ResponseForwarding.FlushInterval.D()
	}
	servers := make([]*balancer.Server, 0, len(lb.Servers))
	var key strings.Builder
	key.WriteString(name)
	for i, srv := range lb.Servers {
		u, err := parseServerURL(srv.URL)
		if err != nil {
			return nil, nil, fmt.Errorf("servers[%d].url %q: %v", i, srv.URL, err)
		}
		w := 1
		if srv.Weight != nil {
			if *srv.Weight < 0 {
				return nil, nil, fmt.Errorf("servers[%d].weight %d: must not be negative", i, *srv.Weight)
			}
			w = *srv.Weight
		}
		if srv.MaxConns < 0 {
			return nil, nil, fmt.Errorf("servers[%d].maxConns %d: must not be negative", i, srv.MaxConns)
		}
		h := b.deps.Pools.Proxy.Handler(proxy.Target{URL: u, PassHostHeader: pass, FlushInterval: flush, PreservePath: srv.PreservePath}, topts)
		h = b.observeServer(name, u.String(), h)
		bs := &balancer.Server{
			URL: u.String(), Weight: w, Handler: h,
			Backup: srv.Backup, MaxConns: srv.MaxConns, SlowStart: srv.SlowStart.D(),
			Load: b.deps.Pools.Load(u.String()),
		}
		b.usedLoads[u.String()] = true
		if check != nil && b.hs != nil {
			st, err := b.hs.Status(u, *check)
			if err != nil {
				return nil, nil, err
			}
			bs.Health = st
		}
		if b.deps.Metrics != nil {
			// /metrics and the API report the balancer's own view of
			// the server: active check and passive ejection.
			b.deps.Metrics.Server(name, u.String()).SetHealth(bs.Available)
		}
		servers = append(servers, bs)
		// Only what the rotation depends on goes into the State's key,
		// so that changing, say, a health check keeps the rotation.
		fmt.Fprintf(&key, "|%s*%d", u.String(), w)
		if srv.Backup {
			key.WriteString("b")
		}
	}
	if len(servers) == 0 {
		info.Status = StatusWarning
		info.Errors = append(info.Errors, "service has no servers; it answers 503")
		return unavailable{}, func() bool { return false }, nil
	}
	bc := balancer.Config{Strategy: strategy, Options: balancer.Options{State: b.deps.Pools.State(key.String())}}
	if lb.Hash != nil {
		bc.Options.Hash = balancer.HashOptions{Key: lb.Hash.Key, BoundedLoad: lb.Hash.BoundedLoad}
	}
	if lb.Sticky != nil && lb.Sticky.Cookie != nil {
		sc, err := b.sticky(name, lb.Sticky.Cookie)
		if err != nil {
			return nil, nil, err
		}
		bc.Sticky = sc
	}
	picker, err := balancer.New(servers, bc)
	if err != nil {
		return nil, nil, err
	}
	sh := balancer.NewHandler(picker, hopts)
	return sh, sh.Healthy, nil
}

// sticky turns the cookie options into the balancer's.
func (b *builder) sticky(service string, c *config.StickyCookie) (*balancer.StickyConfig, error) {
	sc := &balancer.StickyConfig{
		Name: c.Name, Secure: c.Secure, HTTPOnly: c.HTTPOnly, MaxAge: c.MaxAge, Path: c.Path, Domain: c.Domain,
		Service: service, Key: b.deps.Pools.StickyKey,
	}
	switch strings.ToLower(c.SameSite) {
	case "":
	case "none":
		sc.SameSite = http.SameSiteNoneMode
	case "lax":
		sc.SameSite = http.SameSiteLaxMode
	case "strict":
		sc.SameSite = http.SameSiteStrictMode
	default:
		return nil, fmt.Errorf("sticky.cookie.sameSite %q: want none, lax or strict", c.SameSite)
	}
	if c.MaxAge < 0 {
		sc.MaxAge = -1
	}
	return sc, nil
}

// serviceHealth adapts a child service's health to balancer.Health.
type serviceHealth func() bool

func (f serviceHealth) Up() bool   { return f() }
func (serviceHealth) Since() int64 { return 0 }

// buildWeighted splits requests between services by weight, skipping a
// service with no available server, optionally sticky.
func (b *builder) buildWeighted(name string, w *config.WeightedService) (http.Handler, func() bool, error) {
	if len(w.Services) == 0 {
		return nil, nil, fmt.Errorf("weighted: services is empty; name at least one service")
	}
	servers := make([]*balancer.Server, 0, len(w.Services))
	var key strings.Builder
	key.WriteString(name)
	for i, ref := range w.Services {
		if ref.Name == "" {
			return nil, nil, fmt.Errorf("weighted.services[%d]: name is required", i)
		}
		h, healthy, err := b.child(name, ref.Name)
		if err != nil {
			return nil, nil, fmt.Errorf("weighted.services[%d]: %v", i, err)
		}
		wt := 1
		if ref.Weight != nil {
			if *ref.Weight < 0 {
				return nil, nil, fmt.Errorf("weighted.services[%d].weight %d: must not be negative", i, *ref.Weight)
			}
			wt = *ref.Weight
		}
		// The "service:" prefix keeps a child service's identity apart
		// from server URLs in cookies and state keys.
		id := "service:" + qualify(ref.Name, providerOf(name))
		servers = append(servers, &balancer.Server{URL: id, Weight: wt, Handler: h, Health: serviceHealth(healthy)})
		fmt.Fprintf(&key, "|%s*%d", id, wt)
	}
	bc := balancer.Config{Strategy: "wrr", Options: balancer.Options{State: b.deps.Pools.State(key.String())}}
	if w.Sticky != nil && w.Sticky.Cookie != nil {
		sc, err := b.sticky(name, w.Sticky.Cookie)
		if err != nil {
			return nil, nil, err
		}
		bc.Sticky = sc
	}
	picker, err := balancer.New(servers, bc)
	if err != nil {
		return nil, nil, err
	}
	// Children retry and eject on their own; the parent only chooses.
	sh := balancer.NewHandler(picker, balancer.HandlerOptions{NoRetry: true, QueueTimeout: -1})
	return sh, sh.Healthy, nil
}

// buildFailover sends requests to the main service while it has an
// available server, else to the fallback; with statusCodes, an idempotent
// request whose main answer has one of them is sent to the fallback.
func (b *builder) buildFailover(name string, f *config.FailoverService) (http.Handler, func() bool, error) {
	if f.Service == "" || f.Fallback == "" {
		return nil, nil, fmt.Errorf("failover: service and fallback are both required")
	}
	main, mainUp, err := b.child(name, f.Service)
	if err != nil {
		return nil, nil, fmt.Errorf("failover.service: %v", err)
	}
	fb, fbUp, err := b.child(name, f.Fallback)
	if err != nil {
		return nil, nil, fmt.Errorf("failover.fallback: %v", err)
	}
	codes, err := balancer.ParseStatusSet(f.StatusCodes)
	if err != nil {
		return nil, nil, fmt.Errorf("failover.statusCodes: %v", err)
	}
	h := &failover{main: main, fallback: fb, mainUp: mainUp, codes: codes}
	return h, func() bool { return mainUp() || fbUp() }, nil
}

type failover struct {
	main, fallback http.Handler
	mainUp         func() bool
	codes          balancer.StatusSet
}

func (f *failover) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !f.mainUp() {
		f.fallback.ServeHTTP(w, r)
		return
	}
	if len(f.codes) == 0 || !balancer.Replayable(r) {
		f.main.ServeHTTP(w, r)
		return
	}
	ww := balancer.NewWithhold(w, f.codes, nil)
	f.main.ServeHTTP(ww, r)
	if ww.Caught() {
		f.fallback.ServeHTTP(w, r)
	}
}

// buildMirroring sends requests to the main service and copies a share of
// them to each mirror, whose answers are discarded.
func (b *builder) buildMirroring(name string, m *config.MirroringService) (http.Handler, func() bool, error) {
	if m.Service == "" {
		return nil, nil, fmt.Errorf("mirroring: service is required")
	}
	main, mainUp, err := b.child(name, m.Service)
	if err != nil {
		return nil, nil, fmt.Errorf("mirroring.service: %v", err)
	}
	h := &mirroring{main: main, maxBody: defaultMirrorBody, mirrorBody: m.MirrorBody == nil || *m.MirrorBody}
	if m.MaxBodySize != nil {
		h.maxBody = *m.MaxBodySize
	}
	for i, ref := range m.Mirrors {
		if ref.Percent < 0 || ref.Percent > 100 {
			return nil, nil, fmt.Errorf("mirroring.mirrors[%d].percent %d: want 0 to 100", i, ref.Percent)
		}
		mh, _, err := b.child(name, ref.Name)
		if err != nil {
			return nil, nil, fmt.Errorf("mirroring.mirrors[%d]: %v", i, err)
		}
		h.mirrors = append(h.mirrors, &mirror{h: mh, percent: ref.Percent})
	}
	h.sem = b.deps.Pools.mirrorSlots
	return h, mainUp, nil
}

// maxMirrorsInFlight bounds the mirror copies in flight in the process: a
// slow mirror sheds copies instead of piling up goroutines and buffers.
const maxMirrorsInFlight = 256

// mirrorTimeout bounds one mirror copy.
const mirrorTimeout = 30 * time.Second

type mirroring struct {
	main       http.Handler
	mirrors    []*mirror
	maxBody    int64 // <0: unbounded
	mirrorBody bool
	sem        chan struct{}
}

type mirror struct {
	h       http.Handler
	percent int
	n       atomic.Uint64
}

// take reports whether this request is copied to m: exactly percent of
// every hundred requests, spread evenly, rather than a random draw whose
// share wanders.
func (m *mirror) take() bool {
	if m.percent >= 100 {
		return true
	}
	if m.percent <= 0 {
		return false
	}
	n := m.n.Add(1)
	return (n*uint64(m.percent))/100 != ((n-1)*uint64(m.percent))/100
}

func (h *mirroring) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var chosen []*mirror
	for _, m := range h.mirrors {
		if m.take() {
			chosen = append(chosen, m)
		}
	}
	if len(chosen) == 0 || len(r.Header["Upgrade"]) > 0 {
		h.main.ServeHTTP(w, r)
		return
	}
	var body []byte
	hasBody := r.Body != nil && r.Body != http.NoBody && r.ContentLength != 0
	if hasBody && h.mirrorBody {
		limit := h.maxBody
		if limit >= 0 && r.ContentLength > limit {
			h.main.ServeHTTP(w, r)
			return
		}
		rd := io.Reader(r.Body)
		if limit >= 0 {
			rd = io.LimitReader(r.Body, limit+1)
		}
		buf, err := io.ReadAll(rd)
		r2 := *r
		r2.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(buf), r.Body), r.Body}
		if err != nil || (limit >= 0 && int64(len(buf)) > limit) {
			// Too large (or unreadable): the main service still gets
			// the whole body, the mirrors get nothing.
			h.main.ServeHTTP(w, &r2)
			return
		}
		body = buf
		r = &r2
	}
	for _, m := range chosen {
		select {
		case h.sem <- struct{}{}:
		default:
			continue
		}
		// The copy outlives the client's request (the main answer may
		// come first), so it gets its own deadline instead.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), mirrorTimeout)
		mr := r.Clone(ctx)
		mr.Body, mr.ContentLength = http.NoBody, 0
		if body != nil {
			mr.Body, mr.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
		} else if hasBody {
			mr.Header.Del("Content-Length")
			mr.Header.Del("Transfer-Encoding")
		}
		go func(m *mirror) {
			defer func() {
				cancel()
				<-h.sem
				// A mirror that fails mid-response panics with
				// http.ErrAbortHandler; it must not take berth down.
				_ = recover()
			}()
			m.h.ServeHTTP(discard{h: http.Header{}}, mr)
		}(m)
	}
	h.main.ServeHTTP(w, r)
}

// discard is the ResponseWriter of mirror copies.
type discard struct{ h http.Header }

func (d discard) Header() http.Header       { return d.h }
func (discard) Write(p []byte) (int, error) { return len(p), nil }
func (discard) WriteHeader(int)             {}

// unavailable answers 503 for a service that has no server.
type unavailable struct{}

func (unavailable) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusServiceUnavailable)
	_, _ = w.Write([]byte("Service Unavailable\n"))
}

// parseServerURL checks a server URL: http, https or h2c with a host.
func parseServerURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, err
	}
	switch u.Scheme {
	case "http", "https", "h2c":
	default:
		return nil, fmt.Errorf("scheme must be http, https or h2c")
	}
	if u.Host == "" {
		return nil, fmt.Errorf("no host")
	}
	return u, nil
}
