package stripprefixregex

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"github.com/berthproxy/berth/pkg/middleware"
)

// Spec is the options of a stripPrefixRegex middleware, named as in Traefik.
type Spec struct {
	// Regex are Go regular expressions tried in order against the
	// decoded path; the first one that matches a non-empty prefix of the
	// path has that prefix removed. Surrounding spaces are ignored, as in
	// Traefik.
	Regex []string `json:"regex"`
}

// Validate checks that there is at least one regex and that each compiles.
func (s *Spec) Validate() error {
	_, err := s.compile()
	return err
}

// compile checks and compiles the regexes, naming the option and the
// entry in errors, and reporting every bad entry at once.
func (s *Spec) compile() ([]*regexp.Regexp, error) {
	if len(s.Regex) == 0 {
		return nil, errors.New(`regex: at least one regular expression is required, e.g. ["/foo/[a-z0-9]+"]`)
	}
	var (
		res  = make([]*regexp.Regexp, 0, len(s.Regex))
		errs []error
	)
	for i, expr := range s.Regex {
		expr = strings.TrimSpace(expr)
		if expr == "" {
			// An empty regex only ever matches the empty prefix,
			// which is never stripped: Traefik accepts it as a
			// silent no-op, which is surely a mistake.
			errs = append(errs, fmt.Errorf("regex[%d]: empty; give an expression matching a path prefix, e.g. \"/foo/[a-z0-9]+\"", i))
			continue
		}
		re, err := regexp.Compile(expr)
		if err != nil {
			// The error already says "error parsing regexp: ..." and
			// quotes the offending part.
			errs = append(errs, fmt.Errorf("regex[%d]: %w", i, err))
			continue
		}
		res = append(res, re)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return res, nil
}

// Factory builds stripPrefixRegex middlewares.
type Factory struct{}

// Type is the key used in files and labels.
func (Factory) Type() string { return "stripPrefixRegex" }

// NewSpec returns empty options.
func (Factory) NewSpec() middleware.Spec { return &Spec{} }

// Build wraps next in a handler that strips the prefix the regexes match.
func (Factory) Build(_ middleware.BuildContext, _ string, spec middleware.Spec, next http.Handler) (http.Handler, error) {
	s, ok := spec.(*Spec)
	if !ok {
		return nil, fmt.Errorf("stripPrefixRegex: got options of type %T, want *stripprefixregex.Spec", spec)
	}
	res, err := s.compile()
	if err != nil {
		return nil, err
	}
	return &handler{next: next, res: res}, nil
}

var _ middleware.Factory = Factory{}
var _ middleware.Spec = (*Spec)(nil)
