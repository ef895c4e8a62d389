package proxy

import (
	"context"
	"errors"
	"net"
	"net/http"

	"go.uber.org/zap"
)

// StatusClientClosedRequest is the non-standard status Traefik (and nginx)
// record when the client went away before the response was sent.
const StatusClientClosedRequest = 499

// errResponseHeaderTimeout reports that TransportOptions.ResponseHeaderTimeout
// passed before the upstream sent its status line and headers.
var errResponseHeaderTimeout = &timeoutError{"proxy: timeout awaiting response headers"}

// errDialTimeout reports that DialTimeout passed before the connection was up.
var errDialTimeout = &timeoutError{"proxy: dial timeout"}

// timeoutError is a net.Error whose Timeout is true, so ErrorStatus and any
// caller checking net.Error treat it as a gateway timeout.
type timeoutError struct{ msg string }

func (e *timeoutError) Error() string   { return e.msg }
func (e *timeoutError) Timeout() bool   { return true }
func (e *timeoutError) Temporary() bool { return true }

// malformedError reports an upstream response that this package refuses to
// interpret, because a lenient reading could desynchronise the connection.
type malformedError struct{ msg string }

func (e *malformedError) Error() string { return "proxy: malformed upstream response: " + e.msg }

func malformed(msg string) error { return &malformedError{msg} }

// These describe request-side and protocol problems; they are
// reported as 502 because the upstream exchange could not be completed.
var (
	errBodyTooShort   = errors.New("proxy: request body shorter than Content-Length")
	errInvalidHeader  = errors.New("proxy: invalid request header name or value")
	errInvalidMethod  = errors.New("proxy: invalid request method")
	errInvalidHost    = errors.New("proxy: invalid Host")
	errUpgradeMissing = errors.New("proxy: 101 response without a matching Upgrade")
	errUnexpected101  = errors.New("proxy: 101 response to a request that did not ask to upgrade")
	errTooMany1xx     = errors.New("proxy: too many 1xx responses")
)

// ErrorStatus maps an error from forwarding to the status the client gets:
// 499 when the client cancelled, 504 when a timeout passed (dial,
// ResponseHeaderTimeout or the request context's deadline), and 502 for
// everything else (refused, reset, malformed response). A nil error maps to
// 200.
func ErrorStatus(err error) int {
	switch {
	case err == nil:
		return http.StatusOK
	case errors.Is(err, context.Canceled):
		return StatusClientClosedRequest
	case errors.Is(err, context.DeadlineExceeded):
		return http.StatusGatewayTimeout
	}
	// A request body the client framed wrongly (a bad chunk, a body
	// shorter than its Content-Length) is the client's fault, not the
	// server's: answer 400 rather than blame the backend with a 502.
	var be *clientBodyError
	if errors.As(err, &be) || errors.Is(err, errBodyTooShort) {
		return http.StatusBadRequest
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return http.StatusGatewayTimeout
	}
	return http.StatusBadGateway
}

// contextError replaces err by the request context's error when the context
// ended: the fast path learns about cancellation through a connection
// deadline, which would otherwise look like an upstream timeout.
func contextError(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil && err != nil && !errors.Is(err, cerr) {
		return &ctxWrapError{ctx: cerr, err: err}
	}
	return err
}

// ctxWrapError keeps both the context error (for ErrorStatus) and the
// underlying I/O error (for the debug log).
type ctxWrapError struct{ ctx, err error }

func (e *ctxWrapError) Error() string { return e.ctx.Error() + ": " + e.err.Error() }
func (e *ctxWrapError) Unwrap() error { return e.ctx }

// UpstreamErrorHandler may be implemented by the ResponseWriter a proxy
// handler is given, to hear about forwarding failures that happen before
// anything was written to the client. If UpstreamError returns true, the
// handler writes nothing and returns: the writer's owner takes over, for
// example to send the request to another server. The call happens only on
// the error path, so the hook costs the fast path nothing.
type UpstreamErrorHandler interface {
	UpstreamError(err error) bool
}

// IsConnectError reports whether err is a failure to connect to the server
// (dial refused or timed out, TLS handshake failed): nothing of the request
// reached the server, so it can be sent to another one whatever its method.
func IsConnectError(err error) bool {
	var de *dialError
	if errors.As(err, &de) {
		return true
	}
	// The HTTP/2 path reports dial failures from the transport as they are.
	var oe *net.OpError
	return errors.As(err, &oe) && oe.Op == "dial"
}

// writeError answers the client after an upstream failure. It must only be
// called before response headers were written.
func writeError(logger *zap.Logger, w http.ResponseWriter, r *http.Request, target string, err error) {
	if eh, ok := w.(UpstreamErrorHandler); ok && eh.UpstreamError(err) {
		return
	}
	code := ErrorStatus(err)
	if ce := logger.Check(zap.DebugLevel, "upstream error"); ce != nil {
		ce.Write(zap.String("target", target), zap.String("method", r.Method),
			zap.String("uri", r.RequestURI), zap.Int("status", code), zap.Error(err))
	}
	if code == StatusClientClosedRequest {
		// The client is gone: record the status for middlewares and access
		// logs, but do not bother writing a body nobody will read.
		w.WriteHeader(code)
		return
	}
	text := http.StatusText(code) + "\n"
	h := w.Header()
	h["Content-Type"] = []string{"text/plain; charset=utf-8"}
	h["X-Content-Type-Options"] = []string{"nosniff"}
	w.WriteHeader(code)
	_, _ = w.Write([]byte(text))
}

// logAbort records an upstream failure that happened after the response
// headers were sent, just before the response is aborted.
func logAbort(logger *zap.Logger, r *http.Request, target string, err error) {
	if ce := logger.Check(zap.DebugLevel, "upstream error after response started"); ce != nil {
		ce.Write(zap.String("target", target), zap.String("method", r.Method),
			zap.String("uri", r.RequestURI), zap.Error(err))
	}
}
