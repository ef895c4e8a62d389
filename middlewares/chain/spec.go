package chain

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/berthproxy/berth/pkg/middleware"
)

// Spec is the options of a chain middleware, named as in Traefik.
type Spec struct {
	// Middlewares are the names of the middlewares to run, first to last.
	// Names without "@provider" refer to the chain's own provider.
	Middlewares []string `json:"middlewares"`
}

// Validate checks that the chain names at least one middleware and no
// blank names; whether the names exist is checked when the routing table
// is built, since other providers may define them.
func (s *Spec) Validate() error {
	if len(s.Middlewares) == 0 {
		return errors.New(`middlewares: at least one middleware name is required, e.g. ["auth", "strip"]`)
	}
	for i, n := range s.Middlewares {
		if strings.TrimSpace(n) == "" {
			return fmt.Errorf("middlewares: entry %d is empty", i+1)
		}
	}
	return nil
}

// Factory builds chain middlewares.
type Factory struct{}

// Type is the key used in files and labels.
func (Factory) Type() string { return "chain" }

// NewSpec returns empty options.
func (Factory) NewSpec() middleware.Spec { return &Spec{} }

// Build delegates to the routing table, which resolves the names and
// reports unknown names and reference cycles.
func (Factory) Build(ctx middleware.BuildContext, _ string, spec middleware.Spec, next http.Handler) (http.Handler, error) {
	s, ok := spec.(*Spec)
	if !ok {
		return nil, fmt.Errorf("chain: got options of type %T, want *chain.Spec", spec)
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	if ctx.Chain == nil {
		return nil, errors.New("chain: the routing table gave no way to resolve middleware names")
	}
	names := make([]string, len(s.Middlewares))
	for i, n := range s.Middlewares {
		names[i] = strings.TrimSpace(n)
	}
	return ctx.Chain(names, next)
}

var _ middleware.Factory = Factory{}
var _ middleware.Spec = (*Spec)(nil)
