package main

import (
	"fmt"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"go.uber.org/zap"

	"github.com/berthproxy/berth/pkg/accesslog"
	"github.com/berthproxy/berth/pkg/acme"
	"github.com/berthproxy/berth/pkg/api"
	"github.com/berthproxy/berth/pkg/config"
	"github.com/berthproxy/berth/pkg/logs"
	"github.com/berthproxy/berth/pkg/metrics"
	"github.com/berthproxy/berth/pkg/routing"
	"github.com/berthproxy/berth/pkg/server"
)

// observability wires metrics, the access log, the API and the dashboard:
// berth's own services (prometheus@internal, api@internal,
// dashboard@internal) and, unless routed manually, their routers on the
// internal entrypoint.
type observability struct {
	metrics   *metrics.Registry // nil when metrics, API and access log are all off
	accessLog *accesslog.Logger
	// acme is the certificate manager once started, whose runtime
	// problems the API lists; nil until then or without resolvers.
	acme atomic.Pointer[acme.Manager]
	log  *logs.Logger
	sigs chan os.Signal
	done chan struct{}
}

// setupObservability must run before the server starts: it wraps the
// entrypoints' handlers.
func setupObservability(static *config.Static, lg *logs.Logger, srv *server.Server, deps *routing.Deps, internal *config.Dynamic) (*observability, error) {
	o := &observability{log: lg, sigs: make(chan os.Signal, 1), done: make(chan struct{})}
	opts, prom := metrics.FromStatic(static.Metrics)
	if prom || static.API != nil || static.AccessLog != nil {
		o.metrics = metrics.New(opts)
		deps.Metrics = o.metrics
	}
	if static.AccessLog != nil {
		al, err := accesslog.New(static.AccessLog)
		if err != nil {
			return nil, err
		}
		o.accessLog = al
		o.metrics.SetAccessLogDrops(al.Dropped)
	}
	obs := server.Observability{Metrics: o.metrics, RequestID: o.accessLog != nil}
	if o.accessLog != nil {
		obs.AccessLog = o.accessLog
		obs.AccessLogInternals = static.AccessLog.AddInternals
	}
	if static.Metrics != nil {
		obs.MetricsInternals = static.Metrics.AddInternals
	}
	srv.Observe(obs)

	if prom {
		p := static.Metrics.Prometheus
		deps.Internal["prometheus@internal"] = o.metrics.Handler()
		if !p.ManualRouting {
			internal.HTTP.Routers["prometheus"] = &config.Router{
				EntryPoints: []string{p.EntryPoint},
				Rule:        "PathPrefix(`/metrics`)",
				Service:     "prometheus@internal",
				Priority:    routing.MaxPriority,
			}
		}
	}
	if a := static.API; a != nil {
		h := api.New(api.Options{
			RuntimeProblems: o.runtimeProblems,
			Table:           srv.Table,
			Static:          static,
			Metrics:         o.metrics,
			Level:           &lg.Level,
			Dashboard:       a.Dashboard,
			BasePath:        a.BasePath,
			Debug:           a.Debug,
			Version:         version,
			Logger:          lg.Named("api"),
		})
		deps.Internal["api@internal"] = h
		if a.Dashboard {
			deps.Internal["dashboard@internal"] = h
		}
		// As in Traefik, api.insecure publishes the API and dashboard on
		// the internal entrypoint; otherwise a user router must name
		// api@internal (behind authentication).
		if a.Insecure {
			base := strings.TrimSuffix(a.BasePath, "/")
			rule := "PathPrefix(`" + base + "/api`)"
			if a.Debug {
				rule += " || PathPrefix(`" + base + "/debug`)"
			}
			internal.HTTP.Routers["api"] = &config.Router{
				EntryPoints: []string{config.InternalEntryPoint},
				Rule:        rule,
				Service:     "api@internal",
				Priority:    routing.MaxPriority,
			}
			if a.Dashboard {
				internal.HTTP.Routers["dashboard"] = &config.Router{
					EntryPoints: []string{config.InternalEntryPoint},
					Rule:        "PathPrefix(`" + base + "/`)",
					Service:     "dashboard@internal",
					Priority:    routing.MaxPriority - 1,
				}
			}
		}
	}

	// SIGUSR1 reopens the log files, as Traefik does, for logrotate.
	signal.Notify(o.sigs, syscall.SIGUSR1)
	go o.signals()
	return o, nil
}

func (o *observability) signals() {
	defer close(o.done)
	for range o.sigs {
		if o.accessLog != nil {
			if err := o.accessLog.Reopen(); err != nil {
				o.log.Error("cannot reopen the access log", zap.Error(err))
			}
		}
		if err := o.log.Reopen(); err != nil {
			// The old file stays in use, so this line still lands.
			o.log.Error("cannot reopen the log file", zap.Error(err))
		}
		o.log.Info("log files reopened (SIGUSR1)")
	}
}

// applied records a table that was just put in force; received is when
// its configuration was handed over for building.
func (o *observability) applied(t *routing.Table, received time.Time) {
	if o.metrics == nil {
		return
	}
	o.metrics.ConfigApplied(received, time.Now(), t.Issues, t.TLS().Certificates())
	o.metrics.Prune(t.Live())
}

// close stops the signal handler and flushes the access log.
// attachACME makes the certificate manager's failures visible: its
// problems in the API and its totals in /metrics.
func (o *observability) attachACME(a *acmeRunner) {
	if a == nil {
		return
	}
	o.acme.Store(a.m)
	if o.metrics != nil {
		o.metrics.SetACME(func() []metrics.ACMEStats {
			stats := a.m.Stats()
			out := make([]metrics.ACMEStats, len(stats))
			for i, s := range stats {
				out[i] = metrics.ACMEStats{Resolver: s.Resolver, Orders: s.Orders, Issued: s.Issued, Renewed: s.Renewed,
					Failures: s.Failures, Certificates: s.Certificates, Pending: s.Pending}
			}
			return out
		})
	}
}

// runtimeProblems are the problems found since the last configuration
// change, such as certificates that could not be obtained.
func (o *observability) runtimeProblems() []config.Issue {
	if m := o.acme.Load(); m != nil {
		return m.Issues()
	}
	return nil
}

func (o *observability) close() {
	signal.Stop(o.sigs)
	close(o.sigs)
	<-o.done
	if o.accessLog != nil {
		if err := o.accessLog.Close(); err != nil {
			fmt.Fprintf(os.Stderr, "berth: access log: %v\n", err)
		}
	}
}
