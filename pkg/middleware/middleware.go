// Package middleware defines what a middleware is (a Factory that turns typed
// options into an http.Handler wrapper) and keeps the registry that labels
// and files are decoded against. Middlewares themselves live in
// middlewares/<name>, one package each, and register in middlewares/all.go.
package middleware

import (
	"net/http"
	"sort"
	"strings"
	"sync"

	"go.uber.org/zap"
)

// Spec is the typed options of one middleware, as decoded from a file or
// labels. Validate reports what is wrong in words a user can act on.
type Spec interface {
	Validate() error
}

// Factory builds one type of middleware.
type Factory interface {
	// Type is the key used in files and labels, e.g. "stripPrefix".
	Type() string
	// NewSpec returns empty options, with defaults set, to decode into.
	NewSpec() Spec
	// Build wraps next. It is called once per routing-table build, never
	// per request, so it may do expensive preparation (compile regexps,
	// hash passwords). spec is the value NewSpec returned, decoded.
	Build(ctx BuildContext, name string, spec Spec, next http.Handler) (http.Handler, error)
}

// BuildContext gives a factory what it may need from the table being built.
type BuildContext struct {
	// Logger is named for the middleware being built.
	Logger *zap.Logger
	// Chain wraps next in the named middlewares, in order (the first
	// named runs first). Names are resolved like a router's references:
	// unqualified names in the provider of the middleware being built.
	// It reports reference cycles and unknown names as errors.
	Chain func(names []string, next http.Handler) (http.Handler, error)
}

var (
	mu       sync.RWMutex
	registry = map[string]Factory{}
)

// Register adds a factory. It panics on a duplicate type, which is a
// programming error caught by the first test run.
func Register(f Factory) {
	mu.Lock()
	defer mu.Unlock()
	k := strings.ToLower(f.Type())
	if _, dup := registry[k]; dup {
		panic("middleware: duplicate registration of " + f.Type())
	}
	registry[k] = f
}

// Lookup finds a factory by type, case-insensitively as Traefik's keys are.
func Lookup(typ string) (Factory, bool) {
	mu.RLock()
	defer mu.RUnlock()
	f, ok := registry[strings.ToLower(typ)]
	return f, ok
}

// Types lists the registered types in their canonical spelling, sorted.
func Types() []string {
	mu.RLock()
	defer mu.RUnlock()
	out := make([]string, 0, len(registry))
	for _, f := range registry {
		out = append(out, f.Type())
	}
	sort.Strings(out)
	return out
}
