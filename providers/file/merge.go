package file

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/berthproxy/berth/pkg/config"
)

// merge combines the files' configurations, given in path order, into one.
// An object defined identically in several files is kept once; an object
// defined differently is left out and reported, because picking one of the
// definitions would depend on file names rather than on what the user meant.
func merge(parts []part) (*config.Dynamic, []config.Issue) {
	out := &config.Dynamic{
		HTTP: &config.HTTP{},
		TLS:  &config.TLS{},
	}
	var issues []config.Issue
	collect := func(is []config.Issue) { issues = append(issues, is...) }

	var m []config.Issue
	out.HTTP.Routers, m = mergeObjects(parts, "router",
		func(d *config.Dynamic) map[string]*config.Router {
			if d.HTTP == nil {
				return nil
			}
			return d.HTTP.Routers
		},
		func(o *config.Router) string { return o.Source })
	collect(m)
	out.HTTP.Services, m = mergeObjects(parts, "service",
		func(d *config.Dynamic) map[string]*config.Service {
			if d.HTTP == nil {
				return nil
			}
			return d.HTTP.Services
		},
		func(o *config.Service) string { return o.Source })
	collect(m)
	out.HTTP.Middlewares, m = mergeObjects(parts, "middleware",
		func(d *config.Dynamic) map[string]*config.Middleware {
			if d.HTTP == nil {
				return nil
			}
			return d.HTTP.Middlewares
		},
		func(o *config.Middleware) string { return o.Source })
	collect(m)
	out.HTTP.ServersTransports, m = mergeObjects(parts, "serversTransport",
		func(d *config.Dynamic) map[string]*config.ServersTransport {
			if d.HTTP == nil {
				return nil
			}
			return d.HTTP.ServersTransports
		},
		func(o *config.ServersTransport) string { return o.Source })
	collect(m)
	out.TLS.Options, m = mergeObjects(parts, "tls",
		func(d *config.Dynamic) map[string]*config.TLSOption {
			if d.TLS == nil {
				return nil
			}
			return d.TLS.Options
		},
		func(o *config.TLSOption) string { return o.Source })
	collect(m)
	// Stores have no Source; the file name stands in. Their names are not
	// qualified (Traefik knows only the "default" store), hence the kind
	// of their own.
	out.TLS.Stores, m = mergeObjects(parts, "tlsStore",
		func(d *config.Dynamic) map[string]*config.TLSStore {
			if d.TLS == nil {
				return nil
			}
			return d.TLS.Stores
		},
		func(*config.TLSStore) string { return "" })
	collect(m)

	for _, p := range parts {
		if p.conf.TLS != nil {
			out.TLS.Certificates = append(out.TLS.Certificates, p.conf.TLS.Certificates...)
		}
	}
	return out, issues
}

// mergeObjects merges one kind of named object across files.
func mergeObjects[T any](parts []part, kind string, get func(*config.Dynamic) map[string]*T, source func(*T) string) (map[string]*T, []config.Issue) {
	type definition struct {
		obj    *T
		source string
	}
	defs := map[string][]definition{}
	var names []string
	for _, p := range parts {
		objs := get(p.conf)
		for _, name := range sortedKeys(objs) {
			obj := objs[name]
			src := p.path
			if obj != nil {
				if s := source(obj); s != "" {
					src = s
				}
			}
			if _, ok := defs[name]; !ok {
				names = append(names, name)
			}
			defs[name] = append(defs[name], definition{obj, src})
		}
	}

	out := make(map[string]*T, len(defs))
	var issues []config.Issue
	sort.Strings(names)
	for _, name := range names {
		ds := defs[name]
		same := true
		for _, d := range ds[1:] {
			if !equalDefinitions(ds[0].obj, d.obj) {
				same = false
				break
			}
		}
		if same {
			out[name] = ds[0].obj
			continue
		}
		srcs := make([]string, len(ds))
		for i, d := range ds {
			srcs[i] = d.source
		}
		issues = append(issues, config.Issue{
			Source:   ds[0].source,
			Provider: ProviderName,
			Kind:     kind,
			Object:   name,
			// Error() prefixes the kind and name: `router "web@file": is
			// defined differently in a.yml:3:5 and b.yml:7:5; ...`.
			Msg:   fmt.Sprintf("is defined differently in %s; no definition is used until they agree", joinAnd(srcs)),
			Fatal: true,
		})
	}
	return out, issues
}

// equalDefinitions compares two definitions by their JSON encoding, which
// leaves out Source (where they were written) and sees through the struct
// pointer a middleware's Spec holds.
func equalDefinitions[T any](a, b *T) bool {
	if a == b {
		return true
	}
	ja, errA := json.Marshal(a)
	jb, errB := json.Marshal(b)
	if errA != nil || errB != nil {
		return false
	}
	return bytes.Equal(ja, jb)
}

// joinAnd joins "a", "b", "c" as "a, b and c".
func joinAnd(l []string) string {
	if len(l) <= 1 {
		return strings.Join(l, "")
	}
	return strings.Join(l[:len(l)-1], ", ") + " and " + l[len(l)-1]
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
