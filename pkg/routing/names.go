package routing

import (
	"sort"
	"strings"
	"sync"

	"github.com/berthproxy/berth/pkg/balancer"
	"github.com/berthproxy/berth/pkg/didyoumean"
	"github.com/berthproxy/berth/pkg/proxy"
)

// Pools is the state that outlives routing tables: upstream connections and
// balancer rotation. One Pools lives as long as the process.
type Pools struct {
	Proxy  *proxy.Pool
	mu     sync.Mutex
	states map[string]*balancer.State
}

// NewPools returns empty pools around a proxy pool.
func NewPools(p *proxy.Pool) *Pools {
	return &Pools{Proxy: p, states: map[string]*balancer.State{}}
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
