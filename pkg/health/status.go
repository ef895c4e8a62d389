package health

import (
	"sync"
	"sync/atomic"
	"time"
)

// Status is the result of one active check of one server. Its zero value is
// up: a server is trusted until a check says otherwise, as in Traefik, so
// that enabling checks on a reload does not empty a service.
type Status struct {
	down atomic.Bool
	// since is when the server last came up (Unix nanoseconds), for slow
	// start; zero when it has been up since the checker started.
	since atomic.Int64
}

// Up reports whether the server passes its check.
func (s *Status) Up() bool { return !s.down.Load() }

// Since returns when the server last came back up, in Unix nanoseconds, or
// zero when it never went down.
func (s *Status) Since() int64 { return s.since.Load() }

// set records a transition and reports whether the state changed.
func (s *Status) set(up bool, now time.Time) bool {
	if s.down.Load() == !up {
		return false
	}
	if up {
		s.since.Store(now.UnixNano())
	}
	s.down.Store(!up)
	return true
}

// Passive counts the failures of real requests to one server and ejects it
// after MaxFails failures within a window, for the length of the window
// (nginx's max_fails and fail_timeout; Traefik's maxFailedAttempts and
// failureWindow). A success does not clear earlier failures: like nginx,
// failures are forgotten only when their window ends, so a server that fails
// every other request is still ejected.
type Passive struct {
	mu          sync.Mutex
	fails       int
	windowStart int64

	// ejectedUntil is the end of the current ejection in Unix nanoseconds;
	// it is read on every pick, so it is an atomic outside the mutex.
	ejectedUntil atomic.Int64
}

// Available reports whether the server is not ejected at now (Unix
// nanoseconds).
func (p *Passive) Available(now int64) bool {
	u := p.ejectedUntil.Load()
	return u == 0 || now >= u
}

// EjectedUntil returns the end of the last ejection (Unix nanoseconds), or
// zero if the server was never ejected; the end of an ejection is when a
// server recovers, which slow start ramps from.
func (p *Passive) EjectedUntil() int64 { return p.ejectedUntil.Load() }

// Failure records a failed request at now and reports whether it ejected the
// server. A maxFails of zero or less disables ejection.
func (p *Passive) Failure(now time.Time, maxFails int, window time.Duration) bool {
	if maxFails <= 0 || window <= 0 {
		return false
	}
	n := now.UnixNano()
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.Available(n) {
		// Requests that were already in flight when the server was
		// ejected do not extend the ejection.
		return false
	}
	if p.fails == 0 || n-p.windowStart >= int64(window) {
		p.fails, p.windowStart = 0, n
	}
	p.fails++
	if p.fails < maxFails {
		return false
	}
	p.fails = 0
	p.ejectedUntil.Store(n + int64(window))
	return true
}
