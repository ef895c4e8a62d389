package server

import (
	"net/http"
	"sync/atomic"
	"time"

	"github.com/berthproxy/berth/pkg/accesslog"
	"github.com/berthproxy/berth/pkg/metrics"
	"github.com/berthproxy/berth/pkg/reqinfo"
)

// Observability is what the entrypoints report every request to. A zero
// value observes nothing and leaves the request path untouched.
type Observability struct {
	// Metrics receives per-entrypoint request counts and open
	// connections; nil means none.
	Metrics *metrics.Registry
	// AccessLog receives one line per request; nil means none.
	AccessLog *accesslog.Logger
	// RequestID makes sure every request has an X-Request-Id: a valid one
	// from the client is kept, otherwise a new one is set. The backend
	// receives it, the client gets it back (unless the backend's response
	// already has one), and the access log records it as RequestID.
	RequestID bool
	// MetricsInternals and AccessLogInternals also count and log requests
	// served by berth's own services (ping, API, metrics), as Traefik's
	// metrics.addInternals and accessLog.addInternals.
	MetricsInternals, AccessLogInternals bool
}

func (o Observability) on() bool {
	return o.Metrics != nil || o.AccessLog != nil || o.RequestID
}

// epObserver wraps an entrypoint's handler: it gives every request a
// reqinfo.Writer (which routing fills with the router and service names)
// and reports the request once it is done.
type epObserver struct {
	name  string
	next  http.Handler
	o     Observability
	m     *metrics.Observer // nil when metrics are off
	conns *atomic.Int64     // nil when metrics are off
}

// Observe makes every entrypoint report to o. It must be called before
// Start.
func (s *Server) Observe(o Observability) {
	if !o.on() {
		return
	}
	for _, ep := range s.entryPoints {
		obs := &epObserver{name: ep.Name, next: ep.handler, o: o}
		if o.Metrics != nil {
			if o.Metrics.Options().EntryPoints || !o.Metrics.Options().Prometheus {
				obs.m = o.Metrics.EntryPoint(ep.Name)
			}
			obs.conns = o.Metrics.OpenConnections(ep.Name)
		}
		ep.obs = obs
		ep.handler = obs
		ep.h1.Handler = obs
		ep.h2.Handler = obs
	}
}

// countConn adds d to the entrypoint's open connections.
func (ep *EntryPoint) countConn(d int64) {
	if ep.obs != nil && ep.obs.conns != nil {
		ep.obs.conns.Add(d)
	}
}

func (o *epObserver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rw := reqinfo.Acquire(w, time.Now())
	rec := &rw.Record
	rec.EntryPoint = o.name
	rec.Protocol = reqinfo.ProtocolOf(r)
	if o.o.RequestID {
		rec.RequestID = reqinfo.RequestID(r)
	}
	rec.CountBody(r)
	// finish runs even when the handler aborts with a panic (the proxy
	// aborts a response cut by the upstream), so that such requests are
	// counted and logged too.
	defer o.finish(rw, r)
	o.next.ServeHTTP(rw, r)
}

func (o *epObserver) finish(rw *reqinfo.Writer, r *http.Request) {
	rec := &rw.Record
	if o.m != nil && (!rec.Internal || o.o.MetricsInternals) {
		o.m.Observe(r.Method, rec.Protocol, rec.Status, rec.EndTime().Sub(rec.Start), rec.RequestSize(r), rec.Size)
	}
	if o.o.AccessLog != nil && (!rec.Internal || o.o.AccessLogInternals) {
		o.o.AccessLog.Log(r, rec, rw.ResponseWriter.Header())
	}
	reqinfo.Release(rw)
}
