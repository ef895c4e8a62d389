package routing

import (
	"net/http"
	"strings"
	"time"

	"github.com/berthproxy/berth/pkg/metrics"
	"github.com/berthproxy/berth/pkg/reqinfo"
)

// Observers are resolved when the table is built, one per router, service
// and server, so that a request only does atomic adds on objects it already
// holds. They find the request's reqinfo.Record through the ResponseWriter
// the entrypoint gave it; when there is none (observability off, or a test
// calling a handler directly) they only pass the request on. With
// Deps.Metrics nil nothing is wrapped at all.

// routerObserver names the router and service in the request's record and
// counts the request for the router.
type routerObserver struct {
	name, service string
	internal      bool
	m             *metrics.Observer // nil: do not count (internal router)
	svc           *metrics.Observer // for retries; nil for internal services
	next          http.Handler
}

func (b *builder) observeRouter(name, service string, h http.Handler) http.Handler {
	reg := b.deps.Metrics
	if reg == nil {
		return h
	}
	o := &routerObserver{name: name, service: service, internal: strings.HasSuffix(service, InternalSuffix), next: h}
	if !o.internal || reg.Options().AddInternals {
		o.m = reg.Router(name, service)
	}
	if !o.internal {
		o.svc = reg.Service(service)
	}
	return o
}

func (o *routerObserver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec := reqinfo.From(w)
	if rec == nil {
		o.next.ServeHTTP(w, r)
		return
	}
	rec.Router, rec.Service, rec.Internal = o.name, o.service, o.internal
	if o.m == nil {
		o.next.ServeHTTP(w, r)
		return
	}
	defer o.done(rec, r)
	o.next.ServeHTTP(w, r)
}

func (o *routerObserver) done(rec *reqinfo.Record, r *http.Request) {
	o.m.Observe(r.Method, rec.Protocol, rec.Status, rec.EndTime().Sub(rec.Start), rec.RequestSize(r), rec.Size)
	// Retries are counted here, once per request, because a retry
	// middleware sits in the router's chain and calls the service again
	// for every attempt.
	o.svc.Retried(rec.RetryAttempts)
}

// serviceObserver counts the requests (attempts) that reach a service.
type serviceObserver struct {
	m    *metrics.Observer
	next http.Handler
}

func (b *builder) observeService(name string, h http.Handler) http.Handler {
	if b.deps.Metrics == nil {
		return h
	}
	return &serviceObserver{m: b.deps.Metrics.Service(name), next: h}
}

func (o *serviceObserver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec := reqinfo.From(w)
	if rec == nil {
		o.next.ServeHTTP(w, r)
		return
	}
	defer o.done(rec, r)
	o.next.ServeHTTP(w, r)
}

func (o *serviceObserver) done(rec *reqinfo.Record, r *http.Request) {
	o.m.Observe(r.Method, rec.Protocol, rec.Status, rec.EndTime().Sub(rec.Start), rec.RequestSize(r), rec.Size)
}

// serverObserver counts a server's requests in flight and records which
// server took the request and how long the exchange with it took.
type serverObserver struct {
	url  string
	s    *metrics.Server
	next http.Handler
}

func (b *builder) observeServer(service, url string, h http.Handler) http.Handler {
	if b.deps.Metrics == nil {
		return h
	}
	return &serverObserver{url: url, s: b.deps.Metrics.Server(service, url), next: h}
}

func (o *serverObserver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec := reqinfo.From(w)
	o.s.Begin()
	if rec != nil {
		rec.ServiceURL = o.url
		rec.OriginStart = time.Now()
	}
	defer o.done(rec)
	o.next.ServeHTTP(w, r)
}

func (o *serverObserver) done(rec *reqinfo.Record) {
	o.s.End()
	if rec == nil {
		return
	}
	// The end of the (last) upstream exchange is the end the outer
	// observers report, which saves them a clock read each.
	now := time.Now()
	rec.End = now
	rec.OriginDuration = now.Sub(rec.OriginStart)
	rec.OriginStatus = rec.Status
}

// Live returns the routers, services and servers of the table, for
// metrics.Registry.Prune.
func (t *Table) Live() metrics.Live {
	live := metrics.Live{Routers: map[string]string{}, Services: map[string][]string{}}
	for name, ri := range t.Routers {
		if ri.Router != nil && ri.Router.Service != "" {
			live.Routers[name] = qualify(ri.Router.Service, ri.Provider)
		}
	}
	for name, si := range t.Services {
		urls := []string{}
		if si.Service != nil && si.LoadBalancer != nil {
			for _, s := range si.LoadBalancer.Servers {
				if u, err := parseServerURL(s.URL); err == nil {
					urls = append(urls, u.String())
				}
			}
		}
		live.Services[name] = urls
	}
	return live
}
