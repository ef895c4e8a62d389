package acme

import (
	"sync"
	"sync/atomic"
)

// counters are a resolver's running totals, read by Stats.
type counters struct {
	orders, issued, renewed atomic.Uint64
	mu                      sync.Mutex
	failures                map[string]uint64
}

func (c *counters) fail(kind string) {
	c.mu.Lock()
	if c.failures == nil {
		c.failures = map[string]uint64{}
	}
	c.failures[kind]++
	c.mu.Unlock()
}

// Stats are the totals of one resolver since start, for metrics: the
// observability code can expose them as Prometheus counters and gauges.
type Stats struct {
	Resolver string
	// Orders counts attempts to obtain a certificate; Issued the first
	// certificates obtained for a domain set and Renewed the renewals.
	Orders, Issued, Renewed uint64
	// Failures counts failed attempts by kind (KindRateLimited, ...).
	Failures map[string]uint64
	// Certificates is the number of domain sets with a certificate;
	// Pending those wanted and still without one.
	Certificates, Pending int
	// OnDemandDenied counts on-demand names refused by the ask URL or
	// the rate limit.
	OnDemandDenied uint64
}

// Stats returns the totals of every resolver, sorted by name.
func (m *Manager) Stats() []Stats {
	out := make([]Stats, 0, len(m.names))
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, name := range m.names {
		r := m.resolvers[name]
		s := Stats{Resolver: name, Orders: r.stats.orders.Load(), Issued: r.stats.issued.Load(),
			Renewed: r.stats.renewed.Load(), Failures: map[string]uint64{}}
		r.stats.mu.Lock()
		for k, v := range r.stats.failures {
			s.Failures[k] = v
		}
		r.stats.mu.Unlock()
		for _, st := range r.certs {
			switch {
			case st.cert != nil:
				s.Certificates++
			case st.wanted || st.onDemand:
				s.Pending++
			}
		}
		if m.onDemand != nil && m.onDemand.r == r {
			s.OnDemandDenied = m.onDemand.denied.Load()
		}
		out = append(out, s)
	}
	return out
}
