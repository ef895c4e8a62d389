// Package api serves berth's JSON API and its dashboard, in the shape of
// Traefik's API (/api/overview, /api/http/routers, ...) so that tools
// written for Traefik keep working, plus berth's own endpoints:
// /api/problems lists every configuration problem with where it comes from,
// and /api/log/level reads and changes the log level at runtime.
//
// The API reads the routing table in force (never a copy that could go
// stale) and the counters of pkg/metrics, so the dashboard can show request
// rates without Prometheus.
//
// Exposing the API exposes the configuration (rules, server addresses,
// middleware options such as basicAuth hashes): keep it on a loopback
// entrypoint or behind a router with authentication (see
// docs/observability.md).
package api

import (
	"embed"
	"encoding/json"
	"expvar"
	"io"
	"io/fs"
	"net/http"
	"net/http/pprof"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/berthproxy/berth/pkg/config"
	"github.com/berthproxy/berth/pkg/logs"
	"github.com/berthproxy/berth/pkg/metrics"
	"github.com/berthproxy/berth/pkg/routing"
)

//go:embed dashboard
var dashboardFS embed.FS

// Options are what the API reads.
type Options struct {
	// Table returns the routing table in force.
	Table func() *routing.Table
	// Static is the static configuration (entrypoints, features).
	Static *config.Static
	// Metrics supplies request counters and server state; nil means none.
	Metrics *metrics.Registry
	// Level is the log level to show and change; nil disables
	// /api/log/level.
	Level *zap.AtomicLevel
	// Dashboard serves the dashboard under /dashboard/.
	Dashboard bool
	// BasePath, such as "/traefik", is where the API and dashboard live
	// (Traefik's api.basePath): /traefik/api/..., /traefik/dashboard/.
	// "" or "/" is the root.
	BasePath string
	// Debug serves Go's profiling and runtime variables under /debug/
	// (/debug/pprof/, /debug/vars), as Traefik's api.debug does.
	Debug bool
	// Version is berth's version.
	Version string
	// Logger records level changes.
	Logger *zap.Logger
	// RuntimeProblems returns problems that arise between configuration
	// changes (a certificate that cannot be obtained); nil means none.
	RuntimeProblems func() []config.Issue
}

// issues returns the table's problems followed by the runtime ones.
func (a *API) issues(t *routing.Table) []config.Issue {
	if a.o.RuntimeProblems == nil {
		return t.Issues
	}
	extra := a.o.RuntimeProblems()
	if len(extra) == 0 {
		return t.Issues
	}
	return append(append(make([]config.Issue, 0, len(t.Issues)+len(extra)), t.Issues...), extra...)
}

// API is the API handler.
type API struct {
	o       Options
	start   time.Time
	mux     *http.ServeMux
	handler http.Handler // mux, under the base path
}

// New returns the API. It serves /api/... and, with o.Dashboard,
// /dashboard/ and a redirect from / to it.
func New(o Options) *API {
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	a := &API{o: o, start: time.Now(), mux: http.NewServeMux()}
	m := a.mux
	base := strings.TrimSuffix(o.BasePath, "/")
	a.handler = m
	if base != "" {
		a.handler = http.StripPrefix(base, m)
	}
	m.HandleFunc("GET /api/version", a.version)
	m.HandleFunc("GET /api/overview", a.overview)
	m.HandleFunc("GET /api/entrypoints", a.entryPoints)
	m.HandleFunc("GET /api/entrypoints/{name}", a.entryPoint)
	m.HandleFunc("GET /api/http/routers", a.routers)
	m.HandleFunc("GET /api/http/routers/{name}", a.router)
	m.HandleFunc("GET /api/http/services", a.services)
	m.HandleFunc("GET /api/http/services/{name}", a.service)
	m.HandleFunc("GET /api/http/middlewares", a.middlewares)
	m.HandleFunc("GET /api/http/middlewares/{name}", a.middleware)
	m.HandleFunc("GET /api/rawdata", a.rawData)
	m.HandleFunc("GET /api/problems", a.problems)
	m.HandleFunc("GET /api/log/level", a.getLevel)
	m.HandleFunc("PUT /api/log/level", a.putLevel)
	m.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such API endpoint: "+r.URL.Path)
	})
	if o.Dashboard {
		sub, _ := fs.Sub(dashboardFS, "dashboard")
		files := http.StripPrefix("/dashboard/", http.FileServer(http.FS(sub)))
		m.Handle("GET /dashboard/", noCache(files))
		toDashboard := func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, base+"/dashboard/", http.StatusFound)
		}
		m.HandleFunc("GET /dashboard", toDashboard)
		m.HandleFunc("GET /{$}", toDashboard)
	}
	if o.Debug {
		m.HandleFunc("GET /debug/pprof/", pprof.Index)
		m.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
		m.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
		m.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
		m.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
		m.Handle("GET /debug/vars", expvar.Handler())
	}
	return a
}

// ServeHTTP serves the API and the dashboard.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.handler.ServeHTTP(w, r) }

// noCache makes browsers revalidate the dashboard files, so that a berth
// upgrade is never shown with a stale script.
func noCache(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'")
		h.ServeHTTP(w, r)
	})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]string{"message": msg})
}

func (a *API) version(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, map[string]any{"Version": a.o.Version, "Codename": "berth", "startDate": a.start.UTC().Format(time.RFC3339)})
}

type counts struct {
	Total    int `json:"total"`
	Warnings int `json:"warnings"`
	Errors   int `json:"errors"`
}

func (c *counts) add(status string) {
	c.Total++
	switch status {
	case routing.StatusWarning:
		c.Warnings++
	case routing.StatusDisabled:
		c.Errors++
	}
}

func (a *API) overview(w http.ResponseWriter, _ *http.Request) {
	t := a.o.Table()
	var rc, sc, mc counts
	providers := map[string]bool{}
	for _, r := range t.Routers {
		rc.add(r.Status)
		providers[r.Provider] = true
	}
	for _, s := range t.Services {
		sc.add(s.Status)
		providers[s.Provider] = true
	}
	for _, m := range t.Middlewares {
		mc.add(m.Status)
		providers[m.Provider] = true
	}
	st := a.o.Static
	features := map[string]any{"tracing": "", "metrics": "", "accessLog": st != nil && st.AccessLog != nil}
	if st != nil && st.Metrics != nil && st.Metrics.Prometheus != nil {
		features["metrics"] = "Prometheus"
	}
	issues := a.issues(t)
	problems := map[string]int{"total": len(issues), "errors": 0, "warnings": 0}
	for _, is := range issues {
		if is.Fatal {
			problems["errors"]++
		} else {
			problems["warnings"]++
		}
	}
	writeJSON(w, map[string]any{
		"http":       map[string]any{"routers": rc, "services": sc, "middlewares": mc},
		"features":   features,
		"providers":  sortedKeys(providers),
		"problems":   problems,
		"generation": t.Generation,
	})
}

// entryPointView is an entrypoint as the API shows it.
type entryPointView struct {
	Name    string         `json:"name"`
	Address string         `json:"address"`
	Stats   *metrics.Stats `json:"stats,omitempty"`
}

func (a *API) entryPointList() []entryPointView {
	if a.o.Static == nil || len(a.o.Static.EntryPoints) == 0 {
		return nil // shown as null, not []
	}
	return views(a.o.Static.EntryPoints, a.stats((*metrics.Registry).EntryPointStats), func(name string, ep *config.EntryPoint, s *metrics.Stats) entryPointView {
		v := entryPointView{Name: name, Stats: s}
		if ep != nil {
			v.Address = ep.Address
		}
		return v
	})
}

func (a *API) entryPoints(w http.ResponseWriter, r *http.Request) {
	page(w, r, a.entryPointList(), func(e entryPointView) (string, string) { return e.Name, "" })
}

func (a *API) entryPoint(w http.ResponseWriter, r *http.Request) {
	writeNamed(w, r, "entrypoint", a.entryPointList(), func(e entryPointView) string { return e.Name })
}

// routerView is a router with its source and request counters.
type routerView struct {
	*routing.RouterInfo
	Source string         `json:"source,omitempty"`
	Stats  *metrics.Stats `json:"stats,omitempty"`
}

func (a *API) routerList(t *routing.Table) []routerView {
	return views(t.Routers, a.stats((*metrics.Registry).RouterStats), func(_ string, ri *routing.RouterInfo, s *metrics.Stats) routerView {
		v := routerView{RouterInfo: ri, Stats: s}
		if ri.Router != nil {
			v.Source = ri.Router.Source
		}
		return v
	})
}

func routerKey(v routerView) (string, string) {
	rule := ""
	if v.Router != nil {
		rule = v.Rule
	}
	return v.Name + " " + rule + " " + v.Provider, v.Status
}

func (a *API) routers(w http.ResponseWriter, r *http.Request) {
	page(w, r, a.routerList(a.o.Table()), routerKey)
}

func (a *API) router(w http.ResponseWriter, r *http.Request) {
	writeNamed(w, r, "router", a.routerList(a.o.Table()), func(v routerView) string { return v.Name })
}

// serverView is one server of a service with its live state.
type serverView struct {
	URL      string `json:"url"`
	Weight   *int   `json:"weight,omitempty"`
	Up       bool   `json:"up"`
	InFlight int64  `json:"inFlight"`
	Requests uint64 `json:"requests"`
}

// serviceView is a service with its source, servers and counters.
// ServerStatus is Traefik's map of server URL to "UP" or "DOWN".
type serviceView struct {
	*routing.ServiceInfo
	Source       string            `json:"source,omitempty"`
	ServerStatus map[string]string `json:"serverStatus,omitempty"`
	Servers      []serverView      `json:"servers,omitempty"`
	Stats        *metrics.Stats    `json:"stats,omitempty"`
}

func (a *API) serviceList(t *routing.Table) []serviceView {
	return views(t.Services, a.stats((*metrics.Registry).ServiceStats), func(name string, si *routing.ServiceInfo, s *metrics.Stats) serviceView {
		v := serviceView{ServiceInfo: si, Stats: s}
		if si.Service != nil {
			v.Source = si.Service.Source
		}
		var states map[string]metrics.ServerState
		if a.o.Metrics != nil {
			states = a.o.Metrics.ServerStates(name)
		}
		if si.Service != nil && si.LoadBalancer != nil && si.Status != routing.StatusDisabled {
			v.ServerStatus = map[string]string{}
			for _, srv := range si.LoadBalancer.Servers {
				sv := serverView{URL: srv.URL, Weight: srv.Weight, Up: true}
				// Observers key servers by their parsed URL, which may
				// differ from the configured text (a trailing slash).
				st, ok := states[srv.URL]
				if !ok {
					st, ok = states[strings.TrimSuffix(srv.URL, "/")]
				}
				if ok {
					sv.Up, sv.InFlight, sv.Requests = st.Up, st.InFlight, st.Requests
				}
				if sv.Up {
					v.ServerStatus[srv.URL] = "UP"
				} else {
					v.ServerStatus[srv.URL] = "DOWN"
				}
				v.Servers = append(v.Servers, sv)
			}
		}
		return v
	})
}

func (a *API) services(w http.ResponseWriter, r *http.Request) {
	page(w, r, a.serviceList(a.o.Table()), func(v serviceView) (string, string) { return v.Name + " " + v.Provider, v.Status })
}

func (a *API) service(w http.ResponseWriter, r *http.Request) {
	writeNamed(w, r, "service", a.serviceList(a.o.Table()), func(v serviceView) string { return v.Name })
}

type middlewareView struct {
	*routing.MiddlewareInfo
	Source string `json:"source,omitempty"`
}

func (a *API) middlewareList(t *routing.Table) []middlewareView {
	return views(t.Middlewares, nil, func(_ string, mi *routing.MiddlewareInfo, _ *metrics.Stats) middlewareView {
		v := middlewareView{MiddlewareInfo: mi}
		if mi.Middleware != nil {
			v.Source = mi.Middleware.Source
		}
		return v
	})
}

func (a *API) middlewares(w http.ResponseWriter, r *http.Request) {
	page(w, r, a.middlewareList(a.o.Table()), func(v middlewareView) (string, string) {
		typ := ""
		if v.Middleware != nil {
			typ = v.Type
		}
		return v.Name + " " + typ + " " + v.Provider, v.Status
	})
}

func (a *API) middleware(w http.ResponseWriter, r *http.Request) {
	writeNamed(w, r, "middleware", a.middlewareList(a.o.Table()), func(v middlewareView) string { return v.Name })
}

func (a *API) rawData(w http.ResponseWriter, _ *http.Request) {
	t := a.o.Table()
	writeJSON(w, map[string]any{
		"routers":     byName(a.routerList(t), func(v routerView) string { return v.Name }),
		"services":    byName(a.serviceList(t), func(v serviceView) string { return v.Name }),
		"middlewares": byName(a.middlewareList(t), func(v middlewareView) string { return v.Name }),
		"problems":    problemList(a.issues(t)),
		"generation":  t.Generation,
	})
}

// Problem is one configuration problem as the API shows it: where it is
// (Source: a file line or a container label), which object it concerns and
// whether that object is disabled.
type Problem struct {
	config.Issue
	// Status is "disabled" for a problem that disabled its object (or
	// kept a file or label from being used), "warning" otherwise.
	Status string `json:"status"`
	// Text is the problem as the log shows it.
	Text string `json:"text"`
}

func problemList(issues []config.Issue) []Problem {
	out := make([]Problem, 0, len(issues))
	for _, is := range issues {
		p := Problem{Issue: is, Status: routing.StatusWarning, Text: is.Error()}
		if is.Fatal {
			p.Status = routing.StatusDisabled
		}
		out = append(out, p)
	}
	return out
}

func (a *API) problems(w http.ResponseWriter, r *http.Request) {
	page(w, r, problemList(a.issues(a.o.Table())), func(p Problem) (string, string) {
		return p.Text + " " + p.Provider, p.Status
	})
}

func (a *API) getLevel(w http.ResponseWriter, _ *http.Request) {
	if a.o.Level == nil {
		writeError(w, http.StatusNotFound, "the log level cannot be changed")
		return
	}
	writeJSON(w, map[string]string{"level": logs.LevelName(a.o.Level.Level())})
}

// putLevel changes the log level: the body is {"level":"DEBUG"} or just
// the level name.
func (a *API) putLevel(w http.ResponseWriter, r *http.Request) {
	if a.o.Level == nil {
		writeError(w, http.StatusNotFound, "the log level cannot be changed")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1024))
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	name := strings.TrimSpace(string(body))
	if strings.HasPrefix(name, "{") {
		var v struct {
			Level string `json:"level"`
		}
		if err := json.Unmarshal(body, &v); err != nil {
			writeError(w, http.StatusBadRequest, "want {\"level\":\"DEBUG\"}: "+err.Error())
			return
		}
		name = v.Level
	}
	lvl, err := logs.ParseLevel(name)
	if err != nil || name == "" {
		if err == nil {
			err = errEmptyLevel
		}
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	old := a.o.Level.Level()
	a.o.Level.SetLevel(lvl)
	// Logged at warn so that the change is visible at the usual levels.
	a.o.Logger.Warn("log level changed through the API", zap.String("from", logs.LevelName(old)), zap.String("to", logs.LevelName(lvl)))
	writeJSON(w, map[string]string{"level": logs.LevelName(lvl)})
}

type apiError string

func (e apiError) Error() string { return string(e) }

const errEmptyLevel = apiError("no level given (valid: TRACE, DEBUG, INFO, WARN, ERROR, FATAL, PANIC)")

// page writes one page of items, filtered by ?search= (a substring of the
// text key returns, case-insensitive) and ?status=, with Traefik's
// ?page=&per_page= pagination and X-Next-Page header (1 on the last page).
func page[T any](w http.ResponseWriter, r *http.Request, items []T, key func(T) (text, status string)) {
	q := r.URL.Query()
	search := strings.ToLower(q.Get("search"))
	status := q.Get("status")
	filtered := items[:0:0]
	for _, it := range items {
		text, st := key(it)
		if search != "" && !strings.Contains(strings.ToLower(text), search) {
			continue
		}
		if status != "" && !strings.EqualFold(st, status) {
			continue
		}
		filtered = append(filtered, it)
	}
	pg, perPage := 1, 100
	if v, err := strconv.Atoi(q.Get("page")); err == nil && v > 0 {
		pg = v
	}
	if v, err := strconv.Atoi(q.Get("per_page")); err == nil && v > 0 {
		perPage = v
	}
	// Compare page numbers rather than multiply them out, so that huge
	// page or per_page values cannot overflow into a bad slice.
	pages := (len(filtered) + perPage - 1) / perPage
	if len(filtered) > 0 && perPage > len(filtered) {
		pages = 1
	}
	if pg > max(pages, 1) {
		writeError(w, http.StatusBadRequest, "page "+strconv.Itoa(pg)+" is beyond the last page")
		return
	}
	start := (pg - 1) * min(perPage, len(filtered))
	end := start + min(perPage, len(filtered)-start)
	next := 1
	if end < len(filtered) {
		next = pg + 1
	}
	w.Header().Set("X-Next-Page", strconv.Itoa(next))
	writeJSON(w, filtered[start:end])
}

// stats returns the counters get reads from the metrics registry, or nil
// without one.
func (a *API) stats(get func(*metrics.Registry) map[string]metrics.Stats) map[string]metrics.Stats {
	if a.o.Metrics == nil {
		return nil
	}
	return get(a.o.Metrics)
}

// views returns one view per entry of m, in name order, made by view from
// the entry and its counters in stats (nil when it has none).
func views[I, V any](m map[string]I, stats map[string]metrics.Stats, view func(name string, info I, stats *metrics.Stats) V) []V {
	out := make([]V, 0, len(m))
	for _, name := range sortedKeys(m) {
		var sp *metrics.Stats
		if s, ok := stats[name]; ok {
			sp = &s
		}
		out = append(out, view(name, m[name], sp))
	}
	return out
}

// writeNamed writes the item of items whose name is the {name} path value,
// or a 404 "<kind> not found" error.
func writeNamed[T any](w http.ResponseWriter, r *http.Request, kind string, items []T, name func(T) string) {
	want := r.PathValue("name")
	for _, it := range items {
		if name(it) == want {
			writeJSON(w, it)
			return
		}
	}
	writeError(w, http.StatusNotFound, kind+" not found: "+want)
}

// byName indexes items by name.
func byName[T any](items []T, name func(T) string) map[string]T {
	out := make(map[string]T, len(items))
	for _, it := range items {
		out[name(it)] = it
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
