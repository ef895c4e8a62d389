package acme

import (
	"context"
	"errors"
	"net"
	"time"

	"golang.org/x/crypto/acme"
)

// Failure kinds, as counted in Stats.
const (
	KindRateLimited = "rate_limited"
	KindChallenge   = "challenge"
	KindAccount     = "account"
	KindNetwork     = "network"
	KindOrder       = "order"
	KindStorage     = "storage"
	KindOther       = "other"
)

// stageError says which step of obtaining a certificate failed, so that a
// failure is counted and reported by what went wrong.
type stageError struct {
	stage string // "account", "order", "challenge", "finalize"
	err   error
}

func (e stageError) Error() string { return e.stage + ": " + e.err.Error() }
func (e stageError) Unwrap() error { return e.err }

// classify gives the kind of a failure: a rate limit or an unreachable CA
// whatever the step, else the step.
func classify(err error) string {
	if _, ok := rateLimit(err); ok {
		return KindRateLimited
	}
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, context.DeadlineExceeded) {
		return KindNetwork
	}
	var se stageError
	if errors.As(err, &se) {
		switch se.stage {
		case "account":
			return KindAccount
		case "challenge":
			return KindChallenge
		case "order", "finalize":
			return KindOrder
		}
	}
	return KindOther
}

// problem returns the CA's problem document of a failure: the acme.Error
// itself, or the first one of a failed authorization.
func problem(err error) *acme.Error {
	var ae *acme.Error
	if errors.As(err, &ae) {
		return ae
	}
	var ze *acme.AuthorizationError
	if errors.As(err, &ze) {
		for _, e := range ze.Errors {
			if errors.As(e, &ae) {
				return ae
			}
		}
	}
	return nil
}

// rateLimit reports whether the CA refused because of a rate limit, and
// how long it asked to wait.
func rateLimit(err error) (time.Duration, bool) {
	if d, ok := acme.RateLimit(err); ok {
		return d, true
	}
	if p := problem(err); p != nil && p.ProblemType == "urn:ietf:params:acme:error:rateLimited" {
		return 0, true
	}
	return 0, false
}
