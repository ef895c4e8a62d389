package stripprefix

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/berthproxy/berth/pkg/middleware"
)

// Spec is the options of a stripPrefix middleware, named as in Traefik.
type Spec struct {
	// Prefixes are tried in order; the first one the path starts with is
	// removed.
	Prefixes []string `json:"prefixes"`
	// ForceSlash is Traefik v2's switch for turning an emptied path into
	// "/". Traefik v3 deprecates it; berth accepts it so that existing
	// configuration decodes, and ignores it because the stripped path
	// always starts with "/" anyway (an empty path is not a valid
	// origin-form request target).
	ForceSlash bool `json:"forceSlash"`
}

// Validate checks that there is at least one prefix and that each is an
// absolute path, since a path never matches a prefix without a leading "/".
func (s *Spec) Validate() error {
	if len(s.Prefixes) == 0 {
		return errors.New(`prefixes: at least one prefix is required, e.g. ["/api"]`)
	}
	var errs []error
	for _, p := range s.Prefixes {
		p = strings.TrimSpace(p)
		if !strings.HasPrefix(p, "/") {
			errs = append(errs, fmt.Errorf("prefixes: %q must start with \"/\"", p))
		}
	}
	return errors.Join(errs...)
}

// Factory builds stripPrefix middlewares.
type Factory struct{}

// Type is the key used in files and labels.
func (Factory) Type() string { return "stripPrefix" }

// NewSpec returns empty options.
func (Factory) NewSpec() middleware.Spec { return &Spec{} }

// Build wraps next in a handler that strips the configured prefixes.
func (Factory) Build(_ middleware.BuildContext, _ string, spec middleware.Spec, next http.Handler) (http.Handler, error) {
	s, ok := spec.(*Spec)
	if !ok {
		return nil, fmt.Errorf("stripPrefix: got options of type %T, want *stripprefix.Spec", spec)
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	h := &handler{next: next, prefixes: make([]string, len(s.Prefixes))}
	for i, p := range s.Prefixes {
		// Traefik trims the prefix too, so a stray space from a label does
		// not silently make the prefix never match.
		h.prefixes[i] = strings.TrimSpace(p)
	}
	return h, nil
}

var _ middleware.Factory = Factory{}
var _ middleware.Spec = (*Spec)(nil)
