// Package metrics keeps berth's metrics in a private Prometheus registry
// (never the global one, so that linking a library cannot add or clash with
// series) and exposes them in Traefik's names and labels, so that existing
// dashboards work with --metrics.prometheus.namespace=traefik.
//
// The request path never builds label maps: every entrypoint, router,
// service and server gets an Observer when the routing table is built, and
// an Observer resolves a (method, protocol, code) combination to its
// Prometheus series once, then keeps it in a small lock-free table. An
// observation is then a few atomic adds and a histogram observe.
//
// Observers also keep plain counters that the API serves (so the dashboard
// can compute request rates) even when Prometheus is off.
package metrics

import (
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/berthproxy/berth/pkg/config"
	"github.com/berthproxy/berth/pkg/reqinfo"
	"github.com/berthproxy/berth/pkg/tlsx"
)

// Options say which metrics are exposed.
type Options struct {
	// Prometheus turns the Prometheus series on; without it only the
	// counters the API reads are kept.
	Prometheus bool
	// Namespace prefixes every metric name ("berth" when empty).
	Namespace string
	// Buckets of the request-duration histograms, in seconds (Traefik's
	// 0.1, 0.3, 1.2, 5 when empty).
	Buckets []float64
	// EntryPoints, Routers and Services turn on the per-entrypoint,
	// per-router and per-service request series (Traefik's
	// addEntryPointsLabels, addRoutersLabels, addServicesLabels).
	EntryPoints, Routers, Services bool
	// AddInternals also counts requests served by berth's own services
	// (ping, API, metrics), as Traefik's metrics.addInternals.
	AddInternals bool
}

// FromStatic returns the options of the static configuration; ok is false
// when Prometheus is off.
func FromStatic(m *config.Metrics) (Options, bool) {
	if m == nil || m.Prometheus == nil {
		return Options{}, false
	}
	p := m.Prometheus
	return Options{
		Prometheus:   true,
		Namespace:    p.Namespace,
		Buckets:      p.Buckets,
		EntryPoints:  p.AddEntryPointsLabels,
		Routers:      p.AddRoutersLabels,
		Services:     p.AddServicesLabels,
		AddInternals: m.AddInternals,
	}, true
}

// requestVecs are the four series of a request family (entrypoint, router
// or service): count, duration, request bytes and response bytes.
type requestVecs struct {
	reqs      *prometheus.CounterVec
	dur       *prometheus.HistogramVec
	reqBytes  *prometheus.CounterVec
	respBytes *prometheus.CounterVec
}

func newRequestVecs(ns, prefix, what string, buckets []float64, extra ...string) *requestVecs {
	labels := append([]string{"code", "method", "protocol"}, extra...)
	return &requestVecs{
		reqs: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: prefix + "_requests_total",
			Help: "How many HTTP requests were processed " + what + ", by status code, protocol and method."}, labels),
		dur: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: ns, Name: prefix + "_request_duration_seconds",
			Help: "How long requests took " + what + ", by status code, protocol and method.", Buckets: buckets}, labels),
		reqBytes: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: prefix + "_requests_bytes_total",
			Help: "The total size of request bodies " + what + " (by Content-Length), by status code, protocol and method."}, labels),
		respBytes: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: prefix + "_responses_bytes_total",
			Help: "The total size of response bodies " + what + ", by status code, protocol and method."}, labels),
	}
}

func (v *requestVecs) register(r *prometheus.Registry) {
	r.MustRegister(v.reqs, v.dur, v.reqBytes, v.respBytes)
}

// deleteMatching removes the series whose labels include all of match.
func (v *requestVecs) deleteMatching(match prometheus.Labels) {
	v.reqs.DeletePartialMatch(match)
	v.dur.DeletePartialMatch(match)
	v.reqBytes.DeletePartialMatch(match)
	v.respBytes.DeletePartialMatch(match)
}

// Registry holds every metric of one berth process.
type Registry struct {
	opts Options
	reg  *prometheus.Registry

	ep, router, service *requestVecs // nil when that family is off

	retries          *prometheus.CounterVec
	reloads          prometheus.Counter
	lastReload       prometheus.Gauge
	convergence      prometheus.Histogram
	dockerEvents     *prometheus.CounterVec
	accessLogDropped prometheus.CounterFunc

	mu          sync.Mutex
	entryPoints map[string]*Observer
	routers     map[string]*Observer
	services    map[string]*Observer
	servers     map[serverKey]*Server
	conns       map[string]*atomic.Int64
	problems    map[[2]string]int
	certs       []tlsx.CertInfo

	// accessLogDrops reads the access log's dropped-line count.
	accessLogDrops atomic.Pointer[func() uint64]
}

type serverKey struct{ service, url string }

// current is the registry DockerEvent reports to.
var current atomic.Pointer[Registry]

// New returns a registry. With opts.Prometheus it registers the Go and
// process collectors and berth's metrics in a new private registry.
func New(opts Options) *Registry {
	if opts.Namespace == "" {
		opts.Namespace = "berth"
	}
	if len(opts.Buckets) == 0 {
		opts.Buckets = []float64{0.1, 0.3, 1.2, 5}
	}
	r := &Registry{
		opts:        opts,
		entryPoints: map[string]*Observer{},
		routers:     map[string]*Observer{},
		services:    map[string]*Observer{},
		servers:     map[serverKey]*Server{},
		conns:       map[string]*atomic.Int64{},
		problems:    map[[2]string]int{},
	}
	current.Store(r)
	if !opts.Prometheus {
		return r
	}
	ns := opts.Namespace
	r.reg = prometheus.NewRegistry()
	r.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if opts.EntryPoints {
		r.ep = newRequestVecs(ns, "entrypoint", "on an entrypoint", opts.Buckets, "entrypoint")
		r.ep.register(r.reg)
	}
	if opts.Routers {
		r.router = newRequestVecs(ns, "router", "by a router", opts.Buckets, "router", "service")
		r.router.register(r.reg)
	}
	if opts.Services {
		r.service = newRequestVecs(ns, "service", "by a service", opts.Buckets, "service")
		r.service.register(r.reg)
	}
	r.retries = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "service_retries_total",
		Help: "How many request retries happened on a service."}, []string{"service"})
	r.reloads = prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Name: "config_reloads_total",
		Help: "How many times a new configuration was applied."})
	r.lastReload = prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Name: "config_last_reload_success",
		Help: "When the last configuration was applied, as a Unix timestamp in seconds."})
	r.convergence = prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: ns, Name: "route_convergence_seconds",
		Help:    "How long it took from receiving a configuration to serving it (build and swap of the routing table).",
		Buckets: []float64{0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5}})
	r.dockerEvents = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "docker_events_total",
		Help: "How many Docker events the Docker provider received, by action."}, []string{"action"})
	r.accessLogDropped = prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: ns, Name: "accesslog_dropped_total",
		Help: "How many access log lines were dropped because the writer could not keep up."}, func() float64 {
		if f := r.accessLogDrops.Load(); f != nil {
			return float64((*f)())
		}
		return 0
	})
	r.reg.MustRegister(r.retries, r.reloads, r.lastReload, r.convergence, r.dockerEvents, r.accessLogDropped, stateCollector{r})
	return r
}

// Options returns the options the registry was made with.
func (r *Registry) Options() Options { return r.opts }

// Handler serves the metrics in the Prometheus text format (or
// OpenMetrics when asked). It answers 404 when Prometheus is off.
func (r *Registry) Handler() http.Handler {
	if r.reg == nil {
		return http.NotFoundHandler()
	}
	return promhttp.HandlerFor(r.reg, promhttp.HandlerOpts{EnableOpenMetrics: true})
}

// Gatherer returns the private registry (nil when Prometheus is off), for
// tests and for embedding berth's metrics elsewhere.
func (r *Registry) Gatherer() prometheus.Gatherer {
	if r.reg == nil {
		return nil
	}
	return r.reg
}

// SetAccessLogDrops tells the registry how to read the access log's count
// of dropped lines.
func (r *Registry) SetAccessLogDrops(f func() uint64) { r.accessLogDrops.Store(&f) }

// DockerEvent counts one Docker event by action ("start", "die", ...). The
// Docker provider calls it; it does nothing when no registry exists or
// Prometheus is off, so the provider needs no wiring.
func DockerEvent(action string) {
	r := current.Load()
	if r == nil || r.dockerEvents == nil {
		return
	}
	r.dockerEvents.WithLabelValues(action).Inc()
}

// ConfigApplied records a configuration change: received is when the
// configuration arrived, applied when its table started serving. issues
// are the problems of the configuration in force and certs its
// certificates.
func (r *Registry) ConfigApplied(received, applied time.Time, issues []config.Issue, certs []tlsx.CertInfo) {
	problems := map[[2]string]int{}
	for _, is := range issues {
		problems[[2]string{is.Provider, is.Kind}]++
	}
	r.mu.Lock()
	// A provider and kind that had problems and has none now must read 0,
	// not vanish, so that alerts resolve.
	for k := range r.problems {
		if _, ok := problems[k]; !ok {
			problems[k] = 0
		}
	}
	r.problems = problems
	r.certs = certs
	r.mu.Unlock()
	if r.reg == nil {
		return
	}
	r.reloads.Inc()
	r.lastReload.Set(float64(applied.UnixNano()) / 1e9)
	r.convergence.Observe(applied.Sub(received).Seconds())
}

// OpenConnections returns the open-connection counter of an entrypoint;
// the server adds one per accepted connection and removes it on close.
func (r *Registry) OpenConnections(entryPoint string) *atomic.Int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.conns[entryPoint]
	if !ok {
		c = new(atomic.Int64)
		r.conns[entryPoint] = c
	}
	return c
}

// EntryPoint returns the observer of an entrypoint.
func (r *Registry) EntryPoint(name string) *Observer {
	return r.observer(r.entryPoints, name, r.ep, name)
}

// Router returns the observer of a router that sends to service.
func (r *Registry) Router(name, service string) *Observer {
	return r.observer(r.routers, name+"\x00"+service, r.router, name, service)
}

// Service returns the observer of a service.
func (r *Registry) Service(name string) *Observer {
	o := r.observer(r.services, name, r.service, name)
	if r.retries != nil && o.retries == nil {
		r.mu.Lock()
		if o.retries == nil {
			o.retries = r.retries.WithLabelValues(name)
		}
		r.mu.Unlock()
	}
	return o
}

func (r *Registry) observer(m map[string]*Observer, key string, vecs *requestVecs, labels ...string) *Observer {
	r.mu.Lock()
	defer r.mu.Unlock()
	if o, ok := m[key]; ok {
		return o
	}
	o := &Observer{vecs: vecs, labels: labels}
	m[key] = o
	return o
}

// Server returns the state of one server of a service: its requests in
// flight and whether it is up.
func (r *Registry) Server(service, url string) *Server {
	r.mu.Lock()
	defer r.mu.Unlock()
	k := serverKey{service, url}
	s, ok := r.servers[k]
	if !ok {
		s = &Server{}
		s.up.Store(1)
		r.servers[k] = s
	}
	return s
}

// SetServerUp records a server's health. The health checker calls it; a
// server nobody checks is up.
func (r *Registry) SetServerUp(service, url string, up bool) {
	v := int32(0)
	if up {
		v = 1
	}
	r.Server(service, url).up.Store(v)
}

// Live names the objects of the configuration in force.
type Live struct {
	Routers  map[string]string   // router → service
	Services map[string][]string // service → server URLs
}

// Prune forgets the series and state of routers, services and servers that
// are no longer configured, so that /metrics does not grow with every
// configuration a long-running berth has seen (Traefik does the same).
// Requests still running on an old table keep counting on the observers
// they hold; those counts are simply not exported any more.
func (r *Registry) Prune(live Live) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for key := range r.routers {
		name, svc, _ := strings.Cut(key, "\x00")
		if s, ok := live.Routers[name]; !ok || s != svc {
			delete(r.routers, key)
			if r.router != nil {
				r.router.deleteMatching(prometheus.Labels{"router": name, "service": svc})
			}
		}
	}
	for name := range r.services {
		if _, ok := live.Services[name]; !ok {
			delete(r.services, name)
			if r.service != nil {
				r.service.deleteMatching(prometheus.Labels{"service": name})
			}
			if r.retries != nil {
				r.retries.DeleteLabelValues(name)
			}
		}
	}
	for k := range r.servers {
		keep := false
		for _, u := range live.Services[k.service] {
			if u == k.url {
				keep = true
				break
			}
		}
		if !keep {
			delete(r.servers, k)
		}
	}
}

// Stats are an observer's plain counters, for the API.
type Stats struct {
	Requests uint64 `json:"requests"`
	// ByClass counts responses by status class: "1xx" ... "5xx".
	ByClass map[string]uint64 `json:"byClass,omitempty"`
	// DurationSeconds is the sum of request durations, so that the mean
	// latency over an interval is ΔDurationSeconds / ΔRequests.
	DurationSeconds float64 `json:"durationSeconds"`
}

// RouterStats returns the counters of every router, by name (summed over
// the services a router was seen with).
func (r *Registry) RouterStats() map[string]Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]Stats, len(r.routers))
	for key, o := range r.routers {
		name, _, _ := strings.Cut(key, "\x00")
		out[name] = addStats(out[name], o.Stats())
	}
	return out
}

// ServiceStats returns the counters of every service, by name.
func (r *Registry) ServiceStats() map[string]Stats { return r.stats(r.services) }

// EntryPointStats returns the counters of every entrypoint, by name.
func (r *Registry) EntryPointStats() map[string]Stats { return r.stats(r.entryPoints) }

func (r *Registry) stats(m map[string]*Observer) map[string]Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]Stats, len(m))
	for k, o := range m {
		out[k] = o.Stats()
	}
	return out
}

func addStats(a, b Stats) Stats {
	a.Requests += b.Requests
	a.DurationSeconds += b.DurationSeconds
	if len(b.ByClass) > 0 && a.ByClass == nil {
		a.ByClass = map[string]uint64{}
	}
	for k, v := range b.ByClass {
		a.ByClass[k] += v
	}
	return a
}

// ServerState is a server's state for the API.
type ServerState struct {
	Up       bool   `json:"up"`
	InFlight int64  `json:"inFlight"`
	Requests uint64 `json:"requests"`
}

// ServerStates returns the state of every server of a service, by URL.
func (r *Registry) ServerStates(service string) map[string]ServerState {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]ServerState{}
	for k, s := range r.servers {
		if k.service == service {
			out[k.url] = ServerState{Up: s.isUp(), InFlight: s.inFlight.Load(), Requests: s.requests.Load()}
		}
	}
	return out
}

// Server is the state of one server of a service that outlives routing
// tables: requests in flight and health.
type Server struct {
	inFlight atomic.Int64
	requests atomic.Uint64
	up       atomic.Int32
	// health, when set, says whether the server may take requests (active
	// check and passive ejection); it is read at scrape time, so the
	// balancer's state is the single source of truth.
	health atomic.Pointer[func() bool]
}

// SetHealth makes the server's up state follow f (read at scrape time and
// by the API) instead of SetServerUp. The routing table sets it each build.
func (s *Server) SetHealth(f func() bool) { s.health.Store(&f) }

// isUp reports the server's health: f from SetHealth, else SetServerUp's.
func (s *Server) isUp() bool {
	if f := s.health.Load(); f != nil {
		return (*f)()
	}
	return s.up.Load() == 1
}

// Begin counts a request going to the server.
func (s *Server) Begin() { s.inFlight.Add(1); s.requests.Add(1) }

// End counts a request to the server as finished.
func (s *Server) End() { s.inFlight.Add(-1) }

// stateCollector exports, at scrape time, the state kept in plain atomics
// (connections, servers, problems, certificates), so that the request path
// only pays for an atomic add.
type stateCollector struct{ r *Registry }

func (c stateCollector) descs() (conns, up, inflight, problems, certs *prometheus.Desc) {
	ns := c.r.opts.Namespace
	conns = prometheus.NewDesc(ns+"_open_connections", "How many connections are open, by entrypoint and protocol.", []string{"entrypoint", "protocol"}, nil)
	up = prometheus.NewDesc(ns+"_service_server_up", "Whether a server of a service is up (1) or down (0).", []string{"service", "url"}, nil)
	inflight = prometheus.NewDesc(ns+"_service_server_in_flight_requests", "How many requests a server of a service is serving now.", []string{"service", "url"}, nil)
	problems = prometheus.NewDesc(ns+"_config_problems", "How many problems the configuration in force has, by provider and kind of object.", []string{"provider", "kind"}, nil)
	certs = prometheus.NewDesc(ns+"_tls_certs_not_after", "When a certificate expires, as a Unix timestamp in seconds.", []string{"cn", "serial", "sans"}, nil)
	return
}

func (c stateCollector) Describe(ch chan<- *prometheus.Desc) {
	a, b, d, e, f := c.descs()
	ch <- a
	ch <- b
	ch <- d
	ch <- e
	ch <- f
}

func (c stateCollector) Collect(ch chan<- prometheus.Metric) {
	conns, up, inflight, problems, certs := c.descs()
	r := c.r
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, ep := range sortedKeys(r.conns) {
		ch <- prometheus.MustNewConstMetric(conns, prometheus.GaugeValue, float64(r.conns[ep].Load()), ep, "TCP")
	}
	for k, s := range r.servers {
		upv := 0.0
		if s.isUp() {
			upv = 1
		}
		ch <- prometheus.MustNewConstMetric(up, prometheus.GaugeValue, upv, k.service, k.url)
		ch <- prometheus.MustNewConstMetric(inflight, prometheus.GaugeValue, float64(s.inFlight.Load()), k.service, k.url)
	}
	for k, n := range r.problems {
		ch <- prometheus.MustNewConstMetric(problems, prometheus.GaugeValue, float64(n), k[0], k[1])
	}
	seen := map[[3]string]bool{}
	for _, ci := range r.certs {
		sans := strings.Join(ci.SANs, ",")
		k := [3]string{ci.CommonName, ci.Serial, sans}
		if seen[k] {
			continue // the same certificate configured twice is one series
		}
		seen[k] = true
		ch <- prometheus.MustNewConstMetric(certs, prometheus.GaugeValue, float64(ci.NotAfter.Unix()), k[0], k[1], k[2])
	}
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// codeStrings holds the label value of every status code, so that the first
// observation of a code does not format it (later ones do not even look).
var codeStrings [1000]string

func init() {
	for i := range codeStrings {
		codeStrings[i] = strconv.Itoa(i)
	}
}

// CodeString returns the decimal form of a status code without allocating.
func CodeString(code int) string {
	if code >= 0 && code < len(codeStrings) {
		return codeStrings[code]
	}
	return strconv.Itoa(code)
}

var _ prometheus.Collector = stateCollector{}

// Protocol re-exports reqinfo's classification for callers of Observe.
type Protocol = reqinfo.Protocol
