package addprefix

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/berthproxy/berth/pkg/middleware"
)

// Spec is the options of an addPrefix middleware, named as in Traefik.
type Spec struct {
	// Prefix is put in front of the request path. It is taken literally
	// (decoded), as in Traefik: a "%" in it reaches the backend as "%25".
	Prefix string `json:"prefix"`
}

// Validate checks that there is a prefix. One without a leading "/" ("api")
// is accepted and used as "/api", as Traefik does, so that a Traefik
// configuration loads unchanged.
func (s *Spec) Validate() error {
	if s.Prefix == "" {
		return errors.New(`prefix: required, e.g. "/api"`)
	}
	if strings.TrimSpace(s.Prefix) != s.Prefix {
		return fmt.Errorf("prefix: %q has surrounding spaces; write %q", s.Prefix, strings.TrimSpace(s.Prefix))
	}
	return nil
}

// prefix returns the prefix with its leading "/".
func (s *Spec) prefix() string {
	if strings.HasPrefix(s.Prefix, "/") {
		return s.Prefix
	}
	return "/" + s.Prefix
}

// Factory builds addPrefix middlewares.
type Factory struct{}

// Type is the key used in files and labels.
func (Factory) Type() string { return "addPrefix" }

// NewSpec returns empty options.
func (Factory) NewSpec() middleware.Spec { return &Spec{} }

// Build wraps next in a handler that prepends the configured prefix.
func (Factory) Build(_ middleware.BuildContext, _ string, spec middleware.Spec, next http.Handler) (http.Handler, error) {
	s, ok := spec.(*Spec)
	if !ok {
		return nil, fmt.Errorf("addPrefix: got options of type %T, want *addprefix.Spec", spec)
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	prefix := s.prefix()
	return &handler{
		next:   next,
		prefix: prefix,
		// The escaped form is computed once here so that requests whose
		// path carries a RawPath do not have to escape the prefix again.
		escapedPrefix: (&url.URL{Path: prefix}).EscapedPath(),
	}, nil
}

var _ middleware.Factory = Factory{}
var _ middleware.Spec = (*Spec)(nil)
