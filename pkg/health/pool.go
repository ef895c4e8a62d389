package health

import (
	"context"
	"net/url"
	"sync"
	"time"

	"go.uber.org/zap"
)

// DefaultGrace is how long a checker whose server left every routing table
// keeps running, so that a server removed and added back by two quick
// reloads keeps its state.
const DefaultGrace = time.Minute

// Pool owns the active checkers of the process. It outlives routing tables.
type Pool struct {
	logger *zap.Logger
	grace  time.Duration

	mu       sync.Mutex
	checkers map[string]*entry
	closed   bool
	sweep    *time.Timer
}

type entry struct {
	c *checker
	// idleSince is when the last build stopped using the checker; zero
	// while a table uses it.
	idleSince time.Time
}

// NewPool returns an empty pool. A nil logger discards logs; grace <= 0
// means DefaultGrace.
func NewPool(logger *zap.Logger, grace time.Duration) *Pool {
	if logger == nil {
		logger = zap.NewNop()
	}
	if grace <= 0 {
		grace = DefaultGrace
	}
	return &Pool{logger: logger.Named("health"), grace: grace, checkers: map[string]*entry{}}
}

// Session collects the checkers one routing-table build uses.
type Session struct {
	p    *Pool
	used map[string]bool
}

// Session starts collecting the checkers of one build; call Commit when the
// build is done.
func (p *Pool) Session() *Session { return &Session{p: p, used: map[string]bool{}} }

// Status returns the status of server under cfg, starting a checker the
// first time the pair is seen. A checker that is already running keeps
// running with its history.
func (s *Session) Status(server *url.URL, cfg Config) (*Status, error) {
	key := server.String() + "|" + cfg.Key()
	s.used[key] = true
	p := s.p
	p.mu.Lock()
	defer p.mu.Unlock()
	if e, ok := p.checkers[key]; ok {
		e.idleSince = time.Time{}
		return e.c.status, nil
	}
	c, err := newChecker(server, cfg, p.logger)
	if err != nil {
		return nil, err
	}
	if !p.closed {
		ctx, cancel := context.WithCancel(context.Background())
		c.cancel = cancel
		go c.run(ctx)
		p.checkers[key] = &entry{c: c}
	}
	return c.status, nil
}

// Commit marks the checkers that this build did not use as idle; they are
// stopped once they stayed idle for the grace period.
func (s *Session) Commit() {
	p := s.p
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	for k, e := range p.checkers {
		if s.used[k] {
			e.idleSince = time.Time{}
		} else if e.idleSince.IsZero() {
			e.idleSince = now
		}
	}
	p.scheduleLocked()
}

// scheduleLocked arms the sweep timer if some checker is idle.
func (p *Pool) scheduleLocked() {
	if p.closed || p.sweep != nil {
		return
	}
	for _, e := range p.checkers {
		if !e.idleSince.IsZero() {
			p.sweep = time.AfterFunc(p.grace, p.sweepIdle)
			return
		}
	}
}

// sweepIdle stops the checkers idle for longer than the grace period.
func (p *Pool) sweepIdle() {
	p.mu.Lock()
	p.sweep = nil
	var stop []*checker
	now := time.Now()
	for k, e := range p.checkers {
		if !e.idleSince.IsZero() && now.Sub(e.idleSince) >= p.grace {
			stop = append(stop, e.c)
			delete(p.checkers, k)
		}
	}
	p.scheduleLocked()
	p.mu.Unlock()
	for _, c := range stop {
		c.stop()
	}
}

// Len returns the number of running checkers.
func (p *Pool) Len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.checkers)
}

// Close stops every checker.
func (p *Pool) Close() {
	p.mu.Lock()
	p.closed = true
	if p.sweep != nil {
		p.sweep.Stop()
	}
	all := make([]*checker, 0, len(p.checkers))
	for _, e := range p.checkers {
		all = append(all, e.c)
	}
	p.checkers = map[string]*entry{}
	p.mu.Unlock()
	for _, c := range all {
		c.stop()
	}
}
