package ipallowlist

import (
	"errors"
	"fmt"
	"net/http"

	"go.uber.org/zap"

	"github.com/berthproxy/berth/pkg/ipstrategy"
	"github.com/berthproxy/berth/pkg/middleware"
)

// DefaultRejectStatusCode is the status of a refused request unless
// rejectStatusCode says otherwise, as in Traefik.
const DefaultRejectStatusCode = http.StatusForbidden

// Spec is the options of an ipAllowList middleware, named as in Traefik.
type Spec struct {
	// SourceRange lists the allowed IPs and CIDR blocks.
	SourceRange []string `json:"sourceRange"`
	// IPStrategy chooses where the client IP is read; unset means the
	// connection's address (RemoteAddr).
	IPStrategy *ipstrategy.Options `json:"ipStrategy"`
	// RejectStatusCode is the status of a refused request (0: 403).
	RejectStatusCode int `json:"rejectStatusCode"`
}

// Validate checks the ranges, the strategy and the status.
func (s *Spec) Validate() error {
	var errs []error
	if err := validateCommon(s.SourceRange, s.IPStrategy); err != nil {
		errs = append(errs, err)
	}
	if c := s.RejectStatusCode; c != 0 && (c < 200 || c > 599 || http.StatusText(c) == "") {
		// Traefik refuses unknown statuses too; berth also refuses 1xx,
		// which is not a final answer and would leave the client hanging.
		errs = append(errs, fmt.Errorf("rejectStatusCode: %d is not a known final HTTP status; use e.g. 403 or 404", c))
	}
	return errors.Join(errs...)
}

// WhiteListSpec is the options of Traefik v2's ipWhiteList middleware,
// which has no rejectStatusCode.
type WhiteListSpec struct {
	// SourceRange lists the allowed IPs and CIDR blocks.
	SourceRange []string `json:"sourceRange"`
	// IPStrategy chooses where the client IP is read.
	IPStrategy *ipstrategy.Options `json:"ipStrategy"`
}

// Validate checks the ranges and the strategy.
func (s *WhiteListSpec) Validate() error { return validateCommon(s.SourceRange, s.IPStrategy) }

func validateCommon(sourceRange []string, strategy *ipstrategy.Options) error {
	var errs []error
	if len(sourceRange) == 0 {
		errs = append(errs, errors.New(`sourceRange: required: the IPs or CIDR blocks to allow, e.g. ["192.168.1.0/24", "10.0.0.7"]`))
	} else if _, err := ipstrategy.ParseRanges(sourceRange); err != nil {
		errs = append(errs, fmt.Errorf("sourceRange%v", err))
	}
	if err := strategy.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Factory builds ipAllowList middlewares.
type Factory struct{}

// Type is the key used in files and labels.
func (Factory) Type() string { return "ipAllowList" }

// NewSpec returns empty options.
func (Factory) NewSpec() middleware.Spec { return &Spec{} }

// Build parses the ranges and the strategy.
func (f Factory) Build(ctx middleware.BuildContext, name string, spec middleware.Spec, next http.Handler) (http.Handler, error) {
	s, ok := spec.(*Spec)
	if !ok {
		return nil, fmt.Errorf("%s: got options of type %T, want *ipallowlist.Spec", f.Type(), spec)
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return build(ctx, f.Type(), name, s.SourceRange, s.IPStrategy, s.RejectStatusCode, next)
}

// WhiteListFactory builds ipWhiteList middlewares, Traefik v2's name for
// ipAllowList, so that v2 configurations keep working.
type WhiteListFactory struct{}

// Type is the key used in files and labels.
func (WhiteListFactory) Type() string { return "ipWhiteList" }

// NewSpec returns empty options.
func (WhiteListFactory) NewSpec() middleware.Spec { return &WhiteListSpec{} }

// Build parses the ranges and the strategy.
func (f WhiteListFactory) Build(ctx middleware.BuildContext, name string, spec middleware.Spec, next http.Handler) (http.Handler, error) {
	s, ok := spec.(*WhiteListSpec)
	if !ok {
		return nil, fmt.Errorf("%s: got options of type %T, want *ipallowlist.WhiteListSpec", f.Type(), spec)
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return build(ctx, f.Type(), name, s.SourceRange, s.IPStrategy, 0, next)
}

// build makes the handler shared by both types from validated options.
func build(ctx middleware.BuildContext, typ, name string, sourceRange []string, opts *ipstrategy.Options, status int, next http.Handler) (http.Handler, error) {
	allowed, err := ipstrategy.ParseRanges(sourceRange)
	if err != nil {
		return nil, fmt.Errorf("sourceRange%v", err)
	}
	strategy, err := ipstrategy.New(opts)
	if err != nil {
		return nil, err
	}
	if ign := opts.Ignored(); ign != "" && ctx.Logger != nil {
		ctx.Logger.Warn(typ+" option has no effect", zap.String("middleware", name), zap.String("option", "ipStrategy."+ign))
	}
	if status == 0 {
		status = DefaultRejectStatusCode
	}
	return &handler{next: next, allowed: allowed, strategy: strategy, status: status, body: []byte(http.StatusText(status))}, nil
}

var (
	_ middleware.Factory = Factory{}
	_ middleware.Factory = WhiteListFactory{}
	_ middleware.Spec    = (*Spec)(nil)
	_ middleware.Spec    = (*WhiteListSpec)(nil)
)
