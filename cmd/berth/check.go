package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/berthproxy/berth/pkg/config"
	"github.com/berthproxy/berth/pkg/provider"
	"github.com/berthproxy/berth/pkg/proxy"
	"github.com/berthproxy/berth/pkg/routing"
	"github.com/berthproxy/berth/pkg/staticconf"
	"github.com/berthproxy/berth/pkg/watch"
	"github.com/berthproxy/berth/providers/docker"
	"github.com/berthproxy/berth/providers/file"
	"go.uber.org/zap"
)

// check validates configuration files like `nginx -t`: every static file
// is loaded as berth would load it, every dynamic file or directory is read
// by the file provider and compiled into a routing table, and every problem
// is printed with its location. It exits 1 when any problem is fatal.
func check(paths, environ []string, out io.Writer) int {
	var composeFiles []string
	var rest []string
	for i := 0; i < len(paths); i++ {
		a := paths[i]
		switch {
		case a == "--compose" || a == "-compose":
			if i+1 >= len(paths) {
				fmt.Fprintln(out, "usage: berth check --compose FILE")
				return 2
			}
			composeFiles = append(composeFiles, paths[i+1])
			i++
		case strings.HasPrefix(a, "--compose="):
			composeFiles = append(composeFiles, strings.TrimPrefix(a, "--compose="))
		default:
			rest = append(rest, a)
		}
	}
	paths = rest
	if len(paths) == 0 && len(composeFiles) == 0 {
		fmt.Fprintln(out, "usage: berth check [--compose FILE]... PATH...  (static configuration files, dynamic files or directories, compose files)")
		return 2
	}
	var static *config.Static
	var dynamicPaths []string
	problems, fatal := 0, false
	report := func(issues []config.Issue) {
		for _, is := range issues {
			sev := "warning"
			if is.Fatal {
				sev = "error"
				fatal = true
			}
			problems++
			fmt.Fprintf(out, "%s: %s\n", sev, is.Error())
		}
	}
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			fmt.Fprintf(out, "error: %v\n", err)
			fatal = true
			continue
		}
		if !st.IsDir() && isStaticFile(p) {
			s, issues, err := staticconf.Load([]string{"--configFile=" + p}, nil)
			report(issues)
			if err != nil {
				fmt.Fprintf(out, "error: %s: %v\n", p, err)
				fatal = true
				continue
			}
			static = s
			continue
		}
		dynamicPaths = append(dynamicPaths, p)
	}
	for _, p := range dynamicPaths {
		report(checkDynamic(p, static))
	}
	for _, p := range composeFiles {
		issues, err := checkCompose(p, static)
		if err != nil {
			fmt.Fprintf(out, "error: %v\n", err)
			fatal = true
			continue
		}
		report(issues)
	}
	if problems == 0 && !fatal {
		fmt.Fprintf(out, "configuration OK (%d file(s) checked)\n", len(paths)+len(composeFiles))
		return 0
	}
	if fatal {
		return 1
	}
	return 0
}

// checkDynamic reads a dynamic file or directory exactly as the file
// provider does and builds a table from it, so that rule errors and broken
// references are found too.
func checkDynamic(path string, static *config.Static) []config.Issue {
	opts := config.FileProvider{Filename: path}
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		opts = config.FileProvider{Directory: path}
	}
	return checkProvider(path, file.New(opts, zap.NewNop()), static)
}

// checkCompose lints the berth and Traefik labels of a compose file with
// the Docker provider's decoder, then builds a table from them so that
// rule errors and broken references are found too. The Docker provider's
// options come from the static file when one was given.
func checkCompose(path string, static *config.Static) ([]config.Issue, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	opts := config.DockerProvider{}
	opts.SetDefaults()
	if static != nil && static.Providers != nil && static.Providers.Docker != nil {
		opts = *static.Providers.Docker
	}
	snap, err := docker.LintCompose(path, data, opts)
	if err != nil {
		return nil, err
	}
	return checkProvider(path, staticProvider{name: docker.ProviderName, cfg: snap.Config, issues: snap.Issues}, static), nil
}

// checkProvider runs one provider once through the watcher and builds a
// table from what it sends.
func checkProvider(path string, p provider.Provider, static *config.Static) []config.Issue {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var merged *watch.Merged
	w := watch.New(zap.NewNop(), time.Millisecond)
	_ = w.Run(ctx, []provider.Provider{p}, func(m watch.Merged) {
		merged = &m
		cancel()
	})
	if merged == nil {
		return []config.Issue{{Source: path, Msg: "could not read the configuration in time", Fatal: true}}
	}
	eps := map[string]*config.EntryPoint{}
	if static != nil {
		eps = static.EntryPoints
	} else {
		// Without a static file every entrypoint a router names is taken
		// to exist, so that only the dynamic configuration is judged.
		for _, r := range merged.Config.HTTP.Routers {
			for _, ep := range r.EntryPoints {
				eps[ep] = nil
			}
		}
		if len(eps) == 0 {
			eps["web"] = nil
		}
	}
	// The pool dials nothing until a request comes, so building real
	// service handlers costs nothing here and checks what serving checks.
	pool := proxy.NewPool(zap.NewNop())
	defer pool.Close()
	pools := routing.NewPools(pool)
	// Checking must not probe anyone's backends.
	if pools.Health != nil {
		pools.Health.Close()
		pools.Health = nil
	}
	// berth's own services exist when it runs, so a router that names
	// one (a user router to api@internal behind basicAuth) is valid.
	internal := map[string]http.Handler{}
	for _, name := range []string{"api@internal", "dashboard@internal", "ping@internal", "prometheus@internal", "noop@internal"} {
		internal[name] = http.NotFoundHandler()
	}
	t := routing.Build(merged.Config, merged.Issues, merged.Generation, routing.Deps{
		EntryPoints: eps,
		Pools:       pools,
		Internal:    internal,
	})
	return t.Issues
}

// isStaticFile tells a static configuration file from a dynamic one by its
// top-level keys: dynamic files have only `http` and `tls`.
func isStaticFile(path string) bool {
	data, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	staticKeys := []string{"entrypoints", "providers", "api", "ping", "log", "accesslog", "metrics", "certificatesresolvers", "serverstransport", "global"}
	for _, line := range bytes.Split(data, []byte("\n")) {
		l := strings.ToLower(strings.TrimSpace(string(line)))
		if len(line) == 0 || line[0] == ' ' || line[0] == '\t' || strings.HasPrefix(l, "#") {
			continue
		}
		if filepath.Ext(path) == ".toml" {
			l = strings.Trim(l, "[]")
			if i := strings.IndexByte(l, '.'); i > 0 {
				l = l[:i]
			}
		}
		for _, k := range staticKeys {
			if strings.HasPrefix(l, k+":") || strings.HasPrefix(l, k+" ") || strings.HasPrefix(l, k+"=") || l == k {
				return true
			}
		}
	}
	return false
}
