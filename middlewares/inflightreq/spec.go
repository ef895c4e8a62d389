package inflightreq

import (
	"errors"
	"fmt"
	"net/http"

	"go.uber.org/zap"

	"github.com/berthproxy/berth/middlewares/internal/statepool"
	"github.com/berthproxy/berth/pkg/ipstrategy"
	"github.com/berthproxy/berth/pkg/middleware"
)

// Spec is the options of an inFlightReq middleware, named as in Traefik.
type Spec struct {
	// Amount is the most requests of one source served at a time.
	Amount int64 `json:"amount"`
	// SourceCriterion says what a source is; unset means the client IP
	// (the connection's address).
	SourceCriterion *ipstrategy.SourceCriterion `json:"sourceCriterion"`
}

// Validate checks the amount and the criterion.
func (s *Spec) Validate() error {
	var errs []error
	if s.Amount <= 0 {
		// Traefik's default of 0 refuses every request; berth asks for
		// a number instead of building a middleware that only says 429.
		errs = append(errs, fmt.Errorf("amount: %d; want the most requests one source may have in flight, at least 1, e.g. 10", s.Amount))
	}
	if err := s.SourceCriterion.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Factory builds inFlightReq middlewares.
type Factory struct{}

// Type is the key used in files and labels.
func (Factory) Type() string { return "inFlightReq" }

// NewSpec returns empty options.
func (Factory) NewSpec() middleware.Spec { return &Spec{} }

// pool keeps each middleware's counters across routing-table swaps, keyed
// by the middleware's name and options (see statepool for why this lives
// outside the table and how it is freed).
var pool statepool.Pool[counters]

// Build compiles the source criterion and finds the middleware's counters.
func (f Factory) Build(ctx middleware.BuildContext, name string, spec middleware.Spec, next http.Handler) (http.Handler, error) {
	s, ok := spec.(*Spec)
	if !ok {
		return nil, fmt.Errorf("%s: got options of type %T, want *inflightreq.Spec", f.Type(), spec)
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	source, err := ipstrategy.NewExtractor(s.SourceCriterion)
	if err != nil {
		return nil, err
	}
	if c := s.SourceCriterion; c != nil && ctx.Logger != nil {
		if ign := c.IPStrategy.Ignored(); ign != "" {
			ctx.Logger.Warn("inFlightReq option has no effect", zap.String("middleware", name), zap.String("option", "sourceCriterion.ipStrategy."+ign))
		}
	}
	// The amount is not part of the key: it is read per request, so a
	// changed amount applies to the requests already counted.
	// An empty criterion is spelled out as the default it means, so that
	// "sourceCriterion: {}" and no sourceCriterion share counters.
	crit := s.SourceCriterion
	if crit != nil && *crit == (ipstrategy.SourceCriterion{}) {
		crit = nil
	}
	key := statepool.Key(name, crit)
	return &handler{next: next, source: source, amount: s.Amount, counters: pool.Get(key, newCounters)}, nil
}

var (
	_ middleware.Factory = Factory{}
	_ middleware.Spec    = (*Spec)(nil)
)
