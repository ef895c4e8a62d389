package replacepath

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/berthproxy/berth/pkg/middleware"
)

// Spec is the options of a replacePath middleware, named as in Traefik.
type Spec struct {
	// Path replaces the request path. It is read in its escaped form, as
	// in Traefik: "/a%2Fb" reaches the backend as "/a%2Fb", a single
	// segment, and a literal "%" is written "%25".
	Path string `json:"path"`
}

// Validate checks that the path is an absolute, correctly escaped path.
// Traefik accepts a path without a leading "/" and then sends a request
// target no server accepts, and accepts a bad escape such as "%zz" and then
// answers every request with 500; berth reports both when loading.
func (s *Spec) Validate() error {
	if s.Path == "" {
		return errors.New(`path: required, e.g. "/foo"`)
	}
	if !strings.HasPrefix(s.Path, "/") {
		return fmt.Errorf("path: %q must start with \"/\"", s.Path)
	}
	if _, err := url.PathUnescape(s.Path); err != nil {
		return fmt.Errorf("path: %v; write a literal \"%%\" as \"%%25\"", err)
	}
	return nil
}

// Factory builds replacePath middlewares.
type Factory struct{}

// Type is the key used in files and labels.
func (Factory) Type() string { return "replacePath" }

// NewSpec returns empty options.
func (Factory) NewSpec() middleware.Spec { return &Spec{} }

// Build wraps next in a handler that replaces the path.
func (Factory) Build(_ middleware.BuildContext, _ string, spec middleware.Spec, next http.Handler) (http.Handler, error) {
	s, ok := spec.(*Spec)
	if !ok {
		return nil, fmt.Errorf("replacePath: got options of type %T, want *replacepath.Spec", spec)
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	// Both forms of the new path are worked out once here, since they
	// never change; Validate has checked that the path unescapes.
	path, _ := url.PathUnescape(s.Path)
	var u url.URL
	setPath(&u, path, s.Path)
	return &handler{next: next, path: u.Path, rawPath: u.RawPath}, nil
}

var _ middleware.Factory = Factory{}
var _ middleware.Spec = (*Spec)(nil)
