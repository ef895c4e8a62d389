package ratelimit

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"go.uber.org/zap"
	"golang.org/x/time/rate"

	"github.com/berthproxy/berth/middlewares/internal/statepool"
	"github.com/berthproxy/berth/pkg/config"
	"github.com/berthproxy/berth/pkg/ipstrategy"
	"github.com/berthproxy/berth/pkg/middleware"
)

// Defaults, as in Traefik.
const (
	DefaultPeriod = time.Second
	DefaultBurst  = 1
)

// Spec is the options of a rateLimit middleware, named as in Traefik.
// Traefik's redis option (a bucket store shared by several instances) is
// not supported; the decoder reports it as an unknown key.
type Spec struct {
	// Average is the number of requests allowed per Period from one
	// source, on average; 0 means no limit, as in Traefik.
	Average int64 `json:"average"`
	// Period is the time Average is counted over (default 1s; 0 means
	// the default). The rate is Average/Period: for less than one
	// request a second, use a longer period ("average: 6, period: 1m").
	Period config.Duration `json:"period"`
	// Burst is the most requests one source may send at once, the size
	// of its bucket (default 1; 0 means the default).
	Burst int64 `json:"burst"`
	// SourceCriterion says what a source is; unset means the client IP
	// (the connection's address).
	SourceCriterion *ipstrategy.SourceCriterion `json:"sourceCriterion"`
}

// Validate checks the numbers and the criterion.
func (s *Spec) Validate() error {
	var errs []error
	if s.Average < 0 {
		errs = append(errs, fmt.Errorf("average: %d is negative; want the number of requests allowed per period, e.g. 100 (0 turns the limit off)", s.Average))
	}
	if s.Period < 0 {
		errs = append(errs, fmt.Errorf("period: %v is negative; want e.g. \"1s\" or \"1m\"", s.Period.D()))
	}
	if s.Burst < 0 {
		errs = append(errs, fmt.Errorf("burst: %d is negative; want the most requests allowed at once, at least 1", s.Burst))
	}
	if err := s.SourceCriterion.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// limits returns the rate in tokens a second and the burst, with the
// defaults applied. A zero average is rate.Inf: no limit.
func (s *Spec) limits() (rate.Limit, int) {
	period := s.Period.D()
	if period == 0 {
		period = DefaultPeriod
	}
	burst := int(s.Burst)
	if burst < 1 {
		burst = DefaultBurst
	}
	if s.Average == 0 {
		return rate.Inf, burst
	}
	return rate.Limit(float64(s.Average) / period.Seconds()), burst
}

// Factory builds rateLimit middlewares.
type Factory struct{}

// Type is the key used in files and labels.
func (Factory) Type() string { return "rateLimit" }

// NewSpec returns options with Traefik's defaults.
func (Factory) NewSpec() middleware.Spec {
	return &Spec{Period: config.Duration(DefaultPeriod), Burst: DefaultBurst}
}

// pool keeps each middleware's buckets across routing-table swaps. The key
// is the middleware's name (qualified, "api-limit@docker") and a hash of
// its effective options: rebuilding the same middleware after an unrelated
// reload finds its buckets again, while changing its rate, burst or source
// criterion starts afresh. Entries go away with the last table that uses
// them (see statepool).
var pool statepool.Pool[buckets]

// Build compiles the source criterion and finds the middleware's buckets.
func (f Factory) Build(ctx middleware.BuildContext, name string, spec middleware.Spec, next http.Handler) (http.Handler, error) {
	s, ok := spec.(*Spec)
	if !ok {
		return nil, fmt.Errorf("%s: got options of type %T, want *ratelimit.Spec", f.Type(), spec)
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	source, err := ipstrategy.NewExtractor(s.SourceCriterion)
	if err != nil {
		return nil, err
	}
	log := ctx.Logger
	if log == nil {
		log = zap.NewNop()
	}
	if c := s.SourceCriterion; c != nil {
		if ign := c.IPStrategy.Ignored(); ign != "" {
			log.Warn("rateLimit option has no effect", zap.String("middleware", name), zap.String("option", "sourceCriterion.ipStrategy."+ign))
		}
	}
	limit, burst := s.limits()
	if limit == rate.Inf {
		// Traefik's meaning of average 0. Nothing to count: hand the
		// request straight on.
		log.Warn("rateLimit average is 0, which means no limit; the middleware lets every request through", zap.String("middleware", name))
		return next, nil
	}
	crit := s.SourceCriterion
	if crit != nil && *crit == (ipstrategy.SourceCriterion{}) {
		crit = nil // the default it stands for, so both spellings share buckets
	}
	key := statepool.Key(name, struct {
		Limit     float64
		Burst     int
		Criterion *ipstrategy.SourceCriterion
	}{float64(limit), burst, crit})
	b := pool.Get(key, func() *buckets { return newBuckets(limit, burst, maxSources) })
	return &handler{
		next:     next,
		source:   source,
		buckets:  b,
		maxDelay: maxDelay(limit),
		now:      time.Now,
		wait:     sleepCtx,
	}, nil
}

var (
	_ middleware.Factory = Factory{}
	_ middleware.Spec    = (*Spec)(nil)
)
