package routing

import (
	"crypto/tls"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/berthproxy/berth/pkg/balancer"
	"github.com/berthproxy/berth/pkg/didyoumean"
	"github.com/berthproxy/berth/pkg/health"
	"github.com/berthproxy/berth/pkg/proxy"
)

// Pools is the state that outlives routing tables: upstream connections,
// balancer rotation, per-server load and passive health, active health
// checkers and the sticky-cookie key. One Pools lives as long as the process.
type Pools struct {
	Proxy *proxy.Pool
	// Health runs the active health checks; nil turns them off (berth
	// check builds tables without probing anything).
	Health *health.Pool
	// StickyKey keys sticky-cookie values; NewPools reads it from
	// BERTH_STICKY_KEY. Empty derives a key per service from its name.
	StickyKey []byte

	mu     sync.Mutex
	states map[string]*balancer.State
	loads  map[string]*balancer.Load
	built  bool

	mirrorSlots chan struct{}
	tlsConfigs  map[string]*tls.Config
}

// tlsConfig returns the client TLS config cached under key, building it
// on first use, so that equal serversTransports share one pointer (and so
// one set of upstream connections) across table builds.
func (p *Pools) tlsConfig(key string, build func() (*tls.Config, error)) (*tls.Config, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if tc, ok := p.tlsConfigs[key]; ok {
		return tc, nil
	}
	tc, err := build()
	if err != nil {
		return nil, err
	}
	if p.tlsConfigs == nil {
		p.tlsConfigs = map[string]*tls.Config{}
	}
	p.tlsConfigs[key] = tc
	return tc, nil
}

// StickyKeyEnv names the environment variable holding the key that sticky
// cookie values are keyed with; replicas of berth must share it.
const StickyKeyEnv = "BERTH_STICKY_KEY"

// NewPools returns empty pools around a proxy pool, with a health pool when
// p is not nil (a table built for traffic).
func NewPools(p *proxy.Pool) *Pools {
	ps := &Pools{
		Proxy:       p,
		states:      map[string]*balancer.State{},
		loads:       map[string]*balancer.Load{},
		mirrorSlots: make(chan struct{}, maxMirrorsInFlight),
	}
	if p != nil {
		ps.Health = health.NewPool(nil, 0)
	}
	if k := os.Getenv(StickyKeyEnv); k != "" {
		ps.StickyKey = []byte(k)
	}
	return ps
}

// Load returns the shared state of a server URL (requests in flight,
// passive health), creating it on first use. A server that first appears
// after the first build has joined a running service, which slow start
// ramps up from; servers of the first build are not ramped.
func (p *Pools) Load(serverURL string) *balancer.Load {
	p.mu.Lock()
	defer p.mu.Unlock()
	l, ok := p.loads[serverURL]
	if !ok {
		var joined int64
		if p.built {
			joined = time.Now().UnixNano()
		}
		l = balancer.NewLoad(joined)
		p.loads[serverURL] = l
	}
	return l
}

// endBuild records that a table was built and forgets the idle servers it
// does not use, so that servers which come and go (containers get new
// addresses) do not accumulate. A server still serving requests of an old
// table is kept; the old table holds its Load anyway.
func (p *Pools) endBuild(used map[string]bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.built = true
	for u, l := range p.loads {
		if !used[u] && l.InFlight() == 0 {
			delete(p.loads, u)
		}
	}
}

// State returns the balancer state for a service identity (its name and
// servers), creating it on first use, so that a rebuilt table continues
// the rotation where the old one was.
func (p *Pools) State(key string) *balancer.State {
	p.mu.Lock()
	defer p.mu.Unlock()
	s, ok := p.states[key]
	if !ok {
		s = balancer.NewState()
		p.states[key] = s
	}
	return s
}

// qualify adds the provider to a reference that has none.
func qualify(ref, provider string) string {
	if strings.Contains(ref, "@") || provider == "" {
		return ref
	}
	return ref + "@" + provider
}

// providerOf returns the provider part of a qualified name.
func providerOf(name string) string {
	if i := strings.LastIndexByte(name, '@'); i >= 0 {
		return name[i+1:]
	}
	return ""
}

// nameOf returns the name part of a qualified name.
func nameOf(name string) string {
	if i := strings.LastIndexByte(name, '@'); i >= 0 {
		return name[:i]
	}
	return name
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// suggest returns `; did you mean "x"?` for the closest known name, or "".
func suggest(name string, known []string) string {
	if best := didyoumean.Closest(name, known); best != "" {
		return "; did you mean \"" + best + "\"?"
	}
	return ""
}
