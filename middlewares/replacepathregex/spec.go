package replacepathregex

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"github.com/berthproxy/berth/pkg/middleware"
)

// Spec is the options of a replacePathRegex middleware, named as in Traefik.
type Spec struct {
	// Regex is a Go regular expression matched against the escaped path
	// (without the query). Surrounding spaces are ignored, as in Traefik.
	Regex string `json:"regex"`
	// Replacement replaces every match; $1, ${1} and ${name} expand to
	// the regex's groups (see regexp.Regexp.Expand: "$1x" means group
	// "1x", so write "${1}x"). The result is read as an escaped path.
	// Surrounding spaces are ignored, and it may be empty (the matched
	// part is then removed), as in Traefik.
	Replacement string `json:"replacement"`
}

// Validate checks that there is a regex and that it compiles.
func (s *Spec) Validate() error {
	_, err := s.compile()
	return err
}

// compile checks and compiles the regex, naming the option in errors.
func (s *Spec) compile() (*regexp.Regexp, error) {
	expr := strings.TrimSpace(s.Regex)
	if expr == "" {
		return nil, errors.New(`regex: required, e.g. "^/foo/(.*)"`)
	}
	re, err := regexp.Compile(expr)
	if err != nil {
		// The error already says "error parsing regexp: ..." and
		// quotes the offending part.
		return nil, fmt.Errorf("regex: %w", err)
	}
	return re, nil
}

// Factory builds replacePathRegex middlewares.
type Factory struct{}

// Type is the key used in files and labels.
func (Factory) Type() string { return "replacePathRegex" }

// NewSpec returns empty options.
func (Factory) NewSpec() middleware.Spec { return &Spec{} }

// Build wraps next in a handler that rewrites matching paths.
func (Factory) Build(ctx middleware.BuildContext, name string, spec middleware.Spec, next http.Handler) (http.Handler, error) {
	s, ok := spec.(*Spec)
	if !ok {
		return nil, fmt.Errorf("replacePathRegex: got options of type %T, want *replacepathregex.Spec", spec)
	}
	re, err := s.compile()
	if err != nil {
		return nil, err
	}
	h := &handler{
		next:        next,
		re:          re,
		replacement: strings.TrimSpace(s.Replacement),
		// A rewrite that cannot be unescaped is a configuration
		// problem the client cannot fix, so it is logged for the
		// operator; the logger is optional in tests.
		warn: func(string) {},
	}
	if log := ctx.Logger; log != nil {
		h.warn = func(msg string) { log.Warn("replacePathRegex " + name + ": " + msg) }
	}
	return h, nil
}

var _ middleware.Factory = Factory{}
var _ middleware.Spec = (*Spec)(nil)
