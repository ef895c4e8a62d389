package retry

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/berthproxy/berth/pkg/balancer"
	"github.com/berthproxy/berth/pkg/config"
	"github.com/berthproxy/berth/pkg/middleware"
)

// maxAttempts bounds attempts: each one may wait on a backend, and a typo
// such as 1000 would hold a client for a very long time.
const maxAttempts = 10

// Spec is the options of a retry middleware: Traefik's attempts and
// initialInterval, and berth's status.
type Spec struct {
	// Attempts is the total number of tries, the first one included.
	Attempts int `json:"attempts"`
	// InitialInterval is the wait before the first retry; each later
	// wait doubles (0: retry at once).
	InitialInterval config.Duration `json:"initialInterval"`
	// Status lists the response statuses ("502", "500-599") that make an
	// idempotent request without a body be tried again.
	Status []string `json:"status"`
}

// Validate checks the attempt count and the status ranges.
func (s *Spec) Validate() error {
	if s.Attempts < 1 {
		return errors.New("attempts: want at least 1, e.g. 3")
	}
	if s.Attempts > maxAttempts {
		return fmt.Errorf("attempts %d: at most %d", s.Attempts, maxAttempts)
	}
	if _, err := balancer.ParseStatusSet(s.Status); err != nil {
		return fmt.Errorf("status: %v", err)
	}
	return nil
}

// Factory builds retry middlewares.
type Factory struct{}

// Type is the key used in files and labels.
func (Factory) Type() string { return "retry" }

// NewSpec returns empty options.
func (Factory) NewSpec() middleware.Spec { return &Spec{} }

// Build wraps next in a handler that tries failed requests again.
func (Factory) Build(_ middleware.BuildContext, _ string, spec middleware.Spec, next http.Handler) (http.Handler, error) {
	s, ok := spec.(*Spec)
	if !ok {
		return nil, fmt.Errorf("retry: got options of type %T, want *retry.Spec", spec)
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	codes, _ := balancer.ParseStatusSet(s.Status)
	return &handler{next: next, attempts: s.Attempts, interval: s.InitialInterval.D(), codes: codes}, nil
}

var (
	_ middleware.Factory = Factory{}
	_ middleware.Spec    = (*Spec)(nil)
)
