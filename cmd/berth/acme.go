package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/berthproxy/berth/pkg/acme"
	"github.com/berthproxy/berth/pkg/config"
	"github.com/berthproxy/berth/pkg/routing"
	"github.com/berthproxy/berth/pkg/server"
)

// Development knobs: the backoff after a failed ACME attempt. They are not
// static configuration (so not BERTH_*): tests use them to see retries in
// seconds rather than minutes.
const (
	envACMERetryBase = "BERTHDEV_ACME_RETRY_BASE"
	envACMERetryMax  = "BERTHDEV_ACME_RETRY_MAX"
)

// acmeRunner is the ACME manager as wired into serve; a nil *acmeRunner
// (no certificate resolver configured) does nothing.
type acmeRunner struct {
	m           *acme.Manager
	entryPoints map[string]*config.EntryPoint
	done        chan struct{}
}

// startACME validates the certificate resolvers, puts the manager in force
// on the server (challenges, certificates) and runs it until ctx is done.
// It returns false when the configuration is invalid, after printing why.
func startACME(ctx context.Context, static *config.Static, srv *server.Server, logger *zap.Logger, environ []string) (*acmeRunner, bool) {
	if len(static.CertificatesResolvers) == 0 {
		return nil, true
	}
	opts := acme.Options{Logger: logger}
	for _, kv := range environ {
		k, v, _ := strings.Cut(kv, "=")
		var dst *time.Duration
		switch k {
		case envACMERetryBase:
			dst = &opts.RetryBase
		case envACMERetryMax:
			dst = &opts.RetryMax
		default:
			continue
		}
		d, err := time.ParseDuration(v)
		if err != nil {
			fmt.Fprintf(os.Stderr, "berth: %s: %v\n", k, err)
			return nil, false
		}
		*dst = d
	}
	m, issues := acme.New(static.CertificatesResolvers, opts)
	for _, is := range issues {
		if is.Fatal {
			fmt.Fprintf(os.Stderr, "berth: %s\n", is.Error())
		}
	}
	if config.HasFatal(issues) {
		return nil, false
	}
	srv.SetACME(m)
	a := &acmeRunner{m: m, entryPoints: static.EntryPoints, done: make(chan struct{})}
	go func() {
		defer close(a.done)
		m.Run(ctx)
	}()
	logger.Info("certificate resolvers started", zap.Strings("resolvers", m.Resolvers()))
	return a, true
}

// apply tells the manager which certificates a new table needs, before the
// table is put in force, and adds the problems found to the table's issues.
func (a *acmeRunner) apply(t *routing.Table) {
	if a == nil {
		return
	}
	reqs, issues := routing.CertRequests(t, a.entryPoints)
	out := make([]acme.Request, len(reqs))
	for i, r := range reqs {
		out[i] = acme.Request{Resolver: r.Resolver, Domains: r.Domains, Router: r.Router, Source: r.Source}
	}
	issues = append(issues, a.m.Update(out)...)
	t.Issues = append(t.Issues, issues...)
}

// wait returns once the manager has stopped (after ctx is done).
func (a *acmeRunner) wait() {
	if a != nil {
		<-a.done
	}
}
