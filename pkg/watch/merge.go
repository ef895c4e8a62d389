package watch

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/berthproxy/berth/pkg/config"
)

// qualifiedKinds are the issue kinds whose Object names an object that the
// merge qualifies as name@provider. Other kinds ("file", "entrypoint",
// "tlsStore", ...) name things that are not qualified.
var qualifiedKinds = map[string]bool{
	"router":           true,
	"service":          true,
	"middleware":       true,
	"serversTransport": true,
	"tls":              true,
}

// mergeSnapshots merges the snapshots of the named providers (given in a
// stable order) into one configuration.
func mergeSnapshots(names []string, snaps []config.Snapshot) (*config.Dynamic, []config.Issue) {
	out := &config.Dynamic{
		HTTP: &config.HTTP{
			Routers:           map[string]*config.Router{},
			Services:          map[string]*config.Service{},
			Middlewares:       map[string]*config.Middleware{},
			ServersTransports: map[string]*config.ServersTransport{},
		},
		TLS: &config.TLS{
			Options: map[string]*config.TLSOption{},
			Stores:  map[string]*config.TLSStore{},
		},
	}
	var issues []config.Issue
	// Issues the providers reported come first, in provider order, then
	// those found while merging.
	for i, snap := range snaps {
		for _, is := range snap.Issues {
			if is.Provider == "" {
				is.Provider = names[i]
			}
			if qualifiedKinds[is.Kind] && is.Object != "" && !strings.Contains(is.Object, "@") {
				is.Object += "@" + names[i]
			}
			issues = append(issues, is)
		}
	}

	storeSources := map[string]string{}
	for i, snap := range snaps {
		pv, d := names[i], snap.Config
		if d == nil {
			continue
		}
		if h := d.HTTP; h != nil {
			qualify(pv, "router", h.Routers, out.HTTP.Routers, &issues,
				func(o *config.Router) string { return o.Source })
			qualify(pv, "service", h.Services, out.HTTP.Services, &issues,
				func(o *config.Service) string { return o.Source })
			qualify(pv, "middleware", h.Middlewares, out.HTTP.Middlewares, &issues,
				func(o *config.Middleware) string { return o.Source })
			qualify(pv, "serversTransport", h.ServersTransports, out.HTTP.ServersTransports, &issues,
				func(o *config.ServersTransport) string { return o.Source })
		}
		if t := d.TLS; t != nil {
			qualify(pv, "tls", t.Options, out.TLS.Options, &issues,
				func(o *config.TLSOption) string { return o.Source })
			out.TLS.Certificates = append(out.TLS.Certificates, t.Certificates...)
			mergeStores(pv, t.Stores, out.TLS.Stores, storeSources, &issues)
		}
	}
	return out, issues
}

// qualify adds provider pv's objects of one kind to dst as name@pv. A name
// that already carries "@pv" is kept as is; one that names another provider
// is refused, because a provider must not define or replace another
// provider's objects.
func qualify[T any](pv, kind string, src, dst map[string]*T, issues *[]config.Issue, source func(*T) string) {
	srcOf := func(o *T) string {
		if o == nil {
			return ""
		}
		return source(o)
	}
	// Names are visited in order so that issues come out the same way
	// every time.
	keys := make([]string, 0, len(src))
	for k := range src {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	// added remembers the name under which this provider set each
	// qualified name, to catch a clash inside the provider ("web" and
	// "web@file"); clashed holds the names dropped for it.
	added := map[string]string{}
	clashed := map[string]bool{}
	for _, name := range keys {
		obj := src[name]
		q := name + "@" + pv
		if i := strings.LastIndexByte(name, '@'); i >= 0 {
			if name[i+1:] != pv {
				*issues = append(*issues, config.Issue{
					Source: srcOf(obj), Provider: pv, Kind: kind, Object: name, Fatal: true,
					Msg: fmt.Sprintf("the name is qualified with provider %q, but provider %q can only define its own objects (%q or %q)",
						name[i+1:], pv, name[:i], name[:i]+"@"+pv),
				})
				continue
			}
			q = name
		}
		first, dup := added[q]
		switch {
		case !dup:
			added[q] = name
			dst[q] = obj
		case clashed[q] || equalJSON(dst[q], obj):
		default:
			*issues = append(*issues, config.Issue{
				Source: srcOf(obj), Provider: pv, Kind: kind, Object: q, Fatal: true,
				Msg: fmt.Sprintf("is defined twice, as %q and %q, differently; neither definition is used", first, name),
			})
			clashed[q] = true
			delete(dst, q)
		}
	}
}

// mergeStores merges TLS stores, whose names are global rather than per
// provider: a store defined identically by several providers is kept, one
// defined differently is dropped and reported.
func mergeStores(pv string, src, dst map[string]*config.TLSStore, from map[string]string, issues *[]config.Issue) {
	keys := make([]string, 0, len(src))
	for k := range src {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, name := range keys {
		prev, seen := from[name]
		switch {
		case !seen:
			from[name] = pv
			dst[name] = src[name]
		case prev == "":
			// Already dropped for a conflict.
		case !equalJSON(dst[name], src[name]):
			*issues = append(*issues, config.Issue{
				Provider: pv, Kind: "tlsStore", Object: name, Fatal: true,
				Msg: fmt.Sprintf("is defined differently by providers %q and %q; neither definition is used", prev, pv),
			})
			from[name] = ""
			delete(dst, name)
		}
	}
}

// equalJSON compares two objects by their JSON encoding, which leaves out
// Source and sees through a middleware Spec's struct pointer.
func equalJSON(a, b any) bool {
	ja, errA := json.Marshal(a)
	jb, errB := json.Marshal(b)
	return errA == nil && errB == nil && bytes.Equal(ja, jb)
}
