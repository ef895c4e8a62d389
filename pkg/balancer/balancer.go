// Package balancer chooses, per request, which server of a service handles
// it. A strategy ("wrr", "leastconn", "p2c", "random", "hash") is a Builder
// that turns a service's servers into a Picker once per routing-table build;
// New adds what every strategy shares on top: backup servers and sticky
// cookies. Pickers are immutable and never block, so a table swap never
// waits on traffic and traffic never waits on a swap.
//
// State that must survive a swap lives outside the pickers: the rotation in a
// State per service, and per server URL a Load (requests in flight, passive
// health) and a Health (the active check). Pickers only read it, and count
// the chosen request in flight, so that a reload neither resets a rotation
// nor forgets that a server is busy or down.
//
// Pick contract: a successful Pick has counted the request in flight on the
// chosen server (respecting its MaxConns); whoever serves the request calls
// Server.Release when it is done. Handler does both.
package balancer

import (
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Default is the strategy used when a service names none.
const Default = "wrr"

// MaxWeight is the largest server weight accepted.
const MaxWeight = 1 << 24

// ErrNoServer is returned when no server can take the request.
var ErrNoServer = errors.New("no available server")

// ErrFull is returned when servers are up but every one of them is at its
// maxConns; Handler waits a little for a slot before giving up with 503.
var ErrFull = errors.New("every server is at its maxConns")

// Server is one backend of a service as seen by pickers.
type Server struct {
	// URL identifies the server; health and counters kept outside the
	// routing table are keyed by it.
	URL string
	// Weight is the server's share of traffic. Zero excludes the server;
	// the caller turns an unset configuration weight into 1.
	Weight int
	// Handler forwards a request to this server (built by the proxy pool).
	Handler http.Handler
	// Backup servers are used only when no primary server is available.
	Backup bool
	// MaxConns caps the requests in flight to this server (0: no cap). A
	// full server is skipped.
	MaxConns int
	// SlowStart ramps the server's share up linearly over this long after
	// it joined or recovered.
	SlowStart time.Duration
	// Load is the server's shared state (in flight, passive health), kept
	// by the caller per server URL; nil gives the server a private one.
	Load *Load
	// Health is the server's active health; nil means always up.
	Health Health

	own Load
}

// PickResult is the outcome of one Pick.
type PickResult struct {
	// Server is the chosen server.
	Server *Server
	// SetCookie, when not nil, is set on the response (sticky sessions).
	SetCookie *http.Cookie
	// Done, when not nil, is called once the request has been served, with
	// a non-nil error if serving failed, so that strategies that count
	// requests in flight can decrement.
	Done func(err error)
}

// Picker chooses a server per request. Pickers are immutable after
// construction, safe for concurrent use, and Pick never blocks for long.
type Picker interface {
	Pick(r *http.Request) (PickResult, error)
}

// Builder makes a Picker for one strategy from a service's servers. Build is
// called once per routing-table build, never per request, so it may do
// expensive preparation. It must not keep or modify the servers slice.
type Builder interface {
	Build(servers []*Server, opts Options) (Picker, error)
}

// BuilderFunc adapts a function to a Builder.
type BuilderFunc func(servers []*Server, opts Options) (Picker, error)

// Build calls f.
func (f BuilderFunc) Build(servers []*Server, opts Options) (Picker, error) { return f(servers, opts) }

// Options are what a Builder gets besides the servers.
type Options struct {
	// State is the service's state that outlives table swaps. The caller
	// keeps one per service and server list (for example keyed by service
	// name and a hash of the servers) and passes it to every rebuild; nil
	// means a fresh State, so the rotation starts over.
	State *State
	// Hash configures the "hash" strategy.
	Hash HashOptions
}

// HashOptions configure the "hash" strategy.
type HashOptions struct {
	// Key is "clientip", "uri", "header:<Name>", "cookie:<name>" or
	// "query:<param>"; empty means "clientip".
	Key string
	// BoundedLoad, when above 1, caps each server at ceil(BoundedLoad ×
	// average requests in flight); 0 turns the bound off.
	BoundedLoad float64
}

// State is the part of a service's balancing that survives routing-table
// rebuilds, so that a reload does not send the next requests to the first
// server again. Its zero value is ready to use; it must not be copied.
type State struct {
	// next is the number of picks made so far on the precomputed WRR cycle;
	// the other strategies use it to rotate where ties are broken.
	next atomic.Uint64

	// mu guards current, the smooth-WRR current weights of the fallback
	// path used when the cycle would be too long to precompute.
	mu      sync.Mutex
	current []int64
	// backup is the rotation of the service's backup servers.
	backup *State
}

// backupState returns the State of the backup servers' rotation.
func (s *State) backupState() *State {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.backup == nil {
		s.backup = NewState()
	}
	return s.backup
}

// NewState returns a fresh State.
func NewState() *State { return &State{} }

// state returns opts.State or a fresh one.
func (o Options) state() *State {
	if o.State != nil {
		return o.State
	}
	return NewState()
}

var (
	registryMu sync.RWMutex
	registry   = map[string]Builder{}
)

// Register adds a strategy under name (case-insensitive). It panics on a
// duplicate name, which is a programming error caught by the first test run.
func Register(name string, b Builder) {
	registryMu.Lock()
	defer registryMu.Unlock()
	k := strings.ToLower(name)
	if _, dup := registry[k]; dup {
		panic("balancer: duplicate registration of " + name)
	}
	registry[k] = b
}

// Lookup returns the Builder registered under name (case-insensitive); an
// empty name is the Default strategy.
func Lookup(name string) (Builder, bool) {
	if name == "" {
		name = Default
	}
	registryMu.RLock()
	defer registryMu.RUnlock()
	b, ok := registry[strings.ToLower(name)]
	return b, ok
}

// Strategies returns the registered strategy names, sorted, for error
// messages that list what is valid.
func Strategies() []string {
	registryMu.RLock()
	defer registryMu.RUnlock()
	names := make([]string, 0, len(registry))
	for k := range registry {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// checkServers reports the servers a strategy cannot accept at all.
func checkServers(servers []*Server) error {
	for i, s := range servers {
		if s == nil {
			return fmt.Errorf("server %d is nil", i)
		}
		if s.Weight < 0 {
			return fmt.Errorf("server %q: weight %d is negative", s.URL, s.Weight)
		}
		// The bound keeps sums of weights, and smooth-WRR running
		// weights, far from int64 overflow.
		if s.Weight > MaxWeight {
			return fmt.Errorf("server %q: weight %d is above the maximum of %d", s.URL, s.Weight, MaxWeight)
		}
	}
	return nil
}

// noServer is the Picker of a service with no server that can be picked
// (none configured, or all of weight 0).
type noServer struct{}

// Pick always fails with ErrNoServer.
func (noServer) Pick(*http.Request) (PickResult, error) { return PickResult{}, ErrNoServer }

var (
	_ Picker  = noServer{}
	_ Builder = BuilderFunc(nil)
)
