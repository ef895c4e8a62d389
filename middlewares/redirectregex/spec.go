package redirectregex

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"github.com/berthproxy/berth/pkg/middleware"
)

// Spec is the options of a redirectRegex middleware, named as in Traefik.
type Spec struct {
	// Regex is a Go regular expression matched against the full request
	// URL, "scheme://host[:port]/escaped/path?query". It is used as
	// written, spaces included, as in Traefik.
	Regex string `json:"regex"`
	// Replacement replaces every match to give the Location; $1, ${1}
	// and ${name} expand to the regex's groups (see
	// regexp.Regexp.Expand: "$1x" means group "1x", so write "${1}x").
	// It may be empty, which removes the matched part, as in Traefik.
	Replacement string `json:"replacement"`
	// Permanent chooses 301/308 over 302/307.
	Permanent bool `json:"permanent"`
}

// Validate checks that there is a regex and that it compiles.
func (s *Spec) Validate() error {
	_, err := s.compile()
	return err
}

// compile checks and compiles the regex, naming the option in errors.
func (s *Spec) compile() (*regexp.Regexp, error) {
	if strings.TrimSpace(s.Regex) == "" {
		return nil, errors.New(`regex: required, e.g. "^http://localhost/(.*)"`)
	}
	re, err := regexp.Compile(s.Regex)
	if err != nil {
		// The error already says "error parsing regexp: ..." and
		// quotes the offending part.
		return nil, fmt.Errorf("regex: %w", err)
	}
	return re, nil
}

// Factory builds redirectRegex middlewares.
type Factory struct{}

// Type is the key used in files and labels.
func (Factory) Type() string { return "redirectRegex" }

// NewSpec returns empty options.
func (Factory) NewSpec() middleware.Spec { return &Spec{} }

// Build wraps next in a handler that redirects requests whose URL the regex
// matches.
func (Factory) Build(ctx middleware.BuildContext, name string, spec middleware.Spec, next http.Handler) (http.Handler, error) {
	s, ok := spec.(*Spec)
	if !ok {
		return nil, fmt.Errorf("redirectRegex: got options of type %T, want *redirectregex.Spec", spec)
	}
	re, err := s.compile()
	if err != nil {
		return nil, err
	}
	h := &handler{
		next:        next,
		re:          re,
		replacement: []byte(s.Replacement),
		permanent:   s.Permanent,
		// A Location that cannot be parsed is a configuration problem
		// the client cannot fix, so it is logged for the operator;
		// the logger is optional in tests.
		warn: func(string) {},
	}
	if log := ctx.Logger; log != nil {
		h.warn = func(msg string) { log.Warn("redirectRegex " + name + ": " + msg) }
	}
	return h, nil
}

var _ middleware.Factory = Factory{}
var _ middleware.Spec = (*Spec)(nil)
