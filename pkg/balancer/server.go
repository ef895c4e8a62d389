package balancer

import (
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/berthproxy/berth/pkg/health"
)

// Health is what a picker asks about a server besides its load: whether an
// active check (or, for a composite service, the child service) says it is
// up, and since when (Unix nanoseconds, zero if it never went down), which
// slow start ramps from. *health.Status implements it.
type Health interface {
	Up() bool
	Since() int64
}

// Load is the part of a server's state that is shared by every service and
// every routing table that names the same server URL: its requests in flight
// and its passive health. The caller keeps one per URL (routing.Pools), so
// that a reload neither forgets how busy a server is nor forgives a server
// that was just ejected.
type Load struct {
	inflight atomic.Int64
	// Passive counts failures of real requests (passiveHealthCheck).
	Passive health.Passive
	// joined is when the server first appeared (Unix nanoseconds), or zero
	// when it was there from the start, for slow start.
	joined int64
}

// NewLoad returns the state of a server that joined at joined (Unix
// nanoseconds); zero means it was there from the start and is not ramped up.
func NewLoad(joined int64) *Load { return &Load{joined: joined} }

// InFlight returns the number of requests being served by the server.
func (l *Load) InFlight() int64 { return l.inflight.Load() }

// load returns the server's shared Load, or its private one when the caller
// gave none (tests, one-off pickers).
func (s *Server) load() *Load {
	if s.Load != nil {
		return s.Load
	}
	return &s.own
}

// InFlight returns the number of requests in flight to s.
func (s *Server) InFlight() int64 { return s.load().inflight.Load() }

// Release ends a request that a Pick counted in flight on s.
func (s *Server) Release() { s.load().inflight.Add(-1) }

// acquire counts one more request in flight on s unless that would go past
// MaxConns, and reports whether it did. The compare-and-swap makes the limit
// exact under concurrency rather than approximately right.
func (s *Server) acquire() bool {
	c := &s.load().inflight
	if s.MaxConns <= 0 {
		c.Add(1)
		return true
	}
	for {
		n := c.Load()
		if n >= int64(s.MaxConns) {
			return false
		}
		if c.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

// acquireAt counts one more request in flight on s only if its count is
// still seen, the value a scan compared it at. leastconn uses it so that two
// concurrent picks that both saw s as the least loaded cannot both place
// their request on it: the loser scans again and sees the new count.
func (s *Server) acquireAt(seen int64) bool {
	if s.MaxConns > 0 && seen >= int64(s.MaxConns) {
		return false
	}
	return s.load().inflight.CompareAndSwap(seen, seen+1)
}

// full reports whether s is at its MaxConns.
func (s *Server) full() bool {
	return s.MaxConns > 0 && s.load().inflight.Load() >= int64(s.MaxConns)
}

// Available reports whether s may take requests: its health check passes
// and passive health has not ejected it.
func (s *Server) Available() bool {
	var c clock
	return s.available(&c)
}

func (s *Server) available(c *clock) bool {
	if s.Health != nil && !s.Health.Up() {
		return false
	}
	u := s.load().Passive.EjectedUntil()
	return u == 0 || c.now() >= u
}

// clock reads the time at most once per pick, and only when a server was
// ever ejected or is in slow start: most picks never need it.
type clock struct{ t int64 }

func (c *clock) now() int64 {
	if c.t == 0 {
		c.t = nowNano()
	}
	return c.t
}

// ramp returns the fraction of its weight that s gets at now: 1 unless
// SlowStart is set and s joined or recovered less than SlowStart ago, in
// which case it grows linearly from a small floor (a server at zero would
// never be tried, so it could never show that it is fine).
func (s *Server) ramp(c *clock) float64 {
	if s.SlowStart <= 0 {
		return 1
	}
	now := c.now()
	l := s.load()
	since := l.joined
	if u := l.Passive.EjectedUntil(); u > since {
		since = u
	}
	if s.Health != nil {
		if h := s.Health.Since(); h > since {
			since = h
		}
	}
	if since == 0 {
		return 1
	}
	el := now - since
	if el >= int64(s.SlowStart) {
		return 1
	}
	return max(float64(el)/float64(s.SlowStart), 0.02)
}

// admit decides whether a server in slow start takes this request: with
// probability ramp, so that over many requests its share grows linearly.
func (s *Server) admit(c *clock) bool {
	r := s.ramp(c)
	return r >= 1 || rand.Float64() < r
}

// nowNano is the clock pickers use; a variable so that tests can move time.
var nowNano = func() int64 { return time.Now().UnixNano() }

// usable reports whether s may take a request now: available and not full.
func (s *Server) usable(c *clock) bool { return s.available(c) && !s.full() }

// Acquire counts a request in flight on s, for Pickers written outside this
// package, and reports false when s is at its MaxConns.
func (s *Server) Acquire() bool { return s.acquire() }

// effWeight is the weight s has now, after slow start.
func (s *Server) effWeight(c *clock) float64 { return float64(s.Weight) * s.ramp(c) }

// outcome summarises a scan that found nothing: ErrFull when some server
// was available but full, ErrNoServer otherwise.
func outcome(sawFull bool) error {
	if sawFull {
		return ErrFull
	}
	return ErrNoServer
}
