package redirectscheme

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/berthproxy/berth/pkg/middleware"
)

// Spec is the options of a redirectScheme middleware, named as in Traefik.
type Spec struct {
	// Scheme is the scheme to redirect to, usually "https".
	Scheme string `json:"scheme"`
	// Port is the port to redirect to; empty keeps the default port of
	// Scheme and then only a different scheme triggers a redirect.
	Port string `json:"port"`
	// Permanent chooses 301/308 over 302/307.
	Permanent bool `json:"permanent"`
}

// Validate checks the scheme and the port.
func (s *Spec) Validate() error {
	if s.Scheme == "" {
		return errors.New(`scheme: required, e.g. "https"`)
	}
	if !validScheme(s.Scheme) {
		return fmt.Errorf("scheme: %q is not a URL scheme; use e.g. \"https\"", s.Scheme)
	}
	if s.Port != "" {
		if n, err := strconv.Atoi(s.Port); err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("port: %q is not a port number between 1 and 65535", s.Port)
		}
	}
	return nil
}

// validScheme follows RFC 3986: a letter, then letters, digits, "+", "-", ".".
func validScheme(s string) bool {
	for i, c := range s {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case i > 0 && (c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.'):
		default:
			return false
		}
	}
	return s != ""
}

// Factory builds redirectScheme middlewares.
type Factory struct{}

// Type is the key used in files and labels.
func (Factory) Type() string { return "redirectScheme" }

// NewSpec returns empty options.
func (Factory) NewSpec() middleware.Spec { return &Spec{} }

// Build wraps next in a handler that redirects requests whose scheme (or
// port, when one is configured) differs from the configured one.
func (Factory) Build(_ middleware.BuildContext, _ string, spec middleware.Spec, next http.Handler) (http.Handler, error) {
	s, ok := spec.(*Spec)
	if !ok {
		return nil, fmt.Errorf("redirectScheme: got options of type %T, want *redirectscheme.Spec", spec)
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	h := &handler{
		next:      next,
		scheme:    strings.ToLower(s.Scheme),
		port:      s.Port,
		permanent: s.Permanent,
	}
	// The port is left out of Location when it is the scheme's default,
	// as browsers and Traefik do.
	if s.Port != "" && s.Port != defaultPort(h.scheme) {
		h.locationPort = s.Port
	}
	return h, nil
}

var _ middleware.Factory = Factory{}
var _ middleware.Spec = (*Spec)(nil)
