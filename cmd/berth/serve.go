package main

import (
	"context"
	"fmt"
	"maps"
	"math"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"syscall"
	"time"

	"go.uber.org/zap"

	"github.com/berthproxy/berth/pkg/config"
	"github.com/berthproxy/berth/pkg/logs"
	"github.com/berthproxy/berth/pkg/provider"
	"github.com/berthproxy/berth/pkg/proxy"
	"github.com/berthproxy/berth/pkg/routing"
	"github.com/berthproxy/berth/pkg/server"
	"github.com/berthproxy/berth/pkg/staticconf"
	"github.com/berthproxy/berth/pkg/watch"
	"github.com/berthproxy/berth/providers/docker"
	"github.com/berthproxy/berth/providers/file"

	_ "github.com/berthproxy/berth/middlewares" // registers every middleware
)

// serve runs the proxy until SIGTERM or SIGINT.
func serve(args, environ []string) int {
	static, issues, err := staticconf.Load(args, environ)
	for _, is := range issues {
		fmt.Fprintf(os.Stderr, "berth: %s\n", is.Error())
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "berth: %v\n", err)
		return 2
	}
	if config.HasFatal(issues) {
		return 2
	}
	lg, err := logs.Open(static.Log)
	if err != nil {
		fmt.Fprintf(os.Stderr, "berth: log: %v\n", err)
		return 2
	}
	defer lg.Close()
	logger := lg.Logger

	srv, err := server.New(static, logger)
	if err != nil {
		logger.Error("cannot start", zap.Error(err))
		fmt.Fprintf(os.Stderr, "berth: %v\n", err)
		return 1
	}
	pools := routing.NewPools(proxy.NewPool(logger.Named("proxy")))
	defer pools.Proxy.Close()
	deps := routing.Deps{
		EntryPoints:      static.EntryPoints,
		ServersTransport: static.ServersTransport,
		Internal:         map[string]http.Handler{},
		Pools:            pools,
		Logger:           logger,
	}
	// noop@internal answers 418 like Traefik's, for routers that only
	// redirect (a redirectScheme middleware in front of it answers first).
	deps.Internal["noop@internal"] = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusTeapot)
	})
	providers := []provider.Provider{}
	internal := &config.Dynamic{HTTP: &config.HTTP{Routers: map[string]*config.Router{}}}
	if static.Ping != nil {
		deps.Internal["ping@internal"] = server.PingHandler(srv, static.Ping.TerminatingStatusCode)
		if !static.Ping.ManualRouting {
			internal.HTTP.Routers["ping"] = &config.Router{
				EntryPoints: []string{static.Ping.EntryPoint},
				Rule:        "Path(`/ping`)",
				Service:     "ping@internal",
				Priority:    math.MaxInt32 - 1,
			}
		}
	}
	obs, err := setupObservability(static, lg, srv, &deps, internal)
	if err != nil {
		fmt.Fprintf(os.Stderr, "berth: %v\n", err)
		return 2
	}
	defer obs.close()
	providers = append(providers, staticProvider{name: "internal", cfg: internal})
	if static.Providers != nil && static.Providers.File != nil {
		providers = append(providers, file.New(*static.Providers.File, logger.Named("file")))
	}
	if static.Providers != nil && static.Providers.Docker != nil {
		providers = append(providers, docker.New(*static.Providers.Docker, logger))
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	acmeRun, ok := startACME(ctx, static, srv, logger, environ)
	if !ok {
		return 2
	}
	defer acmeRun.wait()
	obs.attachACME(acmeRun)
	srv.Start()
	for _, name := range slices.Sorted(maps.Keys(static.EntryPoints)) {
		ep := srv.EntryPoint(name)
		logger.Info("entrypoint listening", zap.String("entryPoint", name), zap.String("address", ep.Addr().String()))
	}

	issueLog := newIssueLog(logger)
	w := watch.New(logger.Named("watch"), 0)
	watchDone := make(chan error, 1)
	go func() {
		watchDone <- w.Run(ctx, providers, func(m watch.Merged) {
			start := time.Now()
			t := routing.Build(m.Config, m.Issues, m.Generation, deps)
			acmeRun.apply(t)
			srv.Swap(t)
			obs.applied(t, m.Received)
			issueLog.update(t.Issues)
			logger.Debug("configuration applied", zap.Uint64("generation", m.Generation),
				zap.Int("routers", len(t.Routers)), zap.Duration("took", time.Since(start)))
		})
	}()

	<-ctx.Done()
	stop()
	logger.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		logger.Warn("shutdown did not finish cleanly", zap.Error(err))
	}
	<-watchDone
	return 0
}

// staticProvider sends one fixed snapshot: berth's own routers (ping).
type staticProvider struct {
	name   string
	cfg    *config.Dynamic
	issues []config.Issue
}

func (p staticProvider) Name() string { return p.name }

func (p staticProvider) Run(ctx context.Context, out chan<- config.Snapshot) error {
	select {
	case out <- config.Snapshot{Provider: p.name, Config: p.cfg, Issues: p.issues}:
	case <-ctx.Done():
		return nil
	}
	<-ctx.Done()
	return nil
}
