package balancer

import (
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/berthproxy/berth/pkg/proxy"
)

// errPanicked is what Done receives when the server's handler panicked
// (httputil.ReverseProxy aborts a broken response with a panic).
var errPanicked = errors.New("handler panicked")

// DefaultQueueTimeout is how long a request waits for a server when every
// server is at its maxConns.
const DefaultQueueTimeout = 100 * time.Millisecond

// HandlerOptions tune a service handler.
type HandlerOptions struct {
	// QueueTimeout bounds the wait for a server when all are at their
	// maxConns; 0 means DefaultQueueTimeout, negative means no wait.
	QueueTimeout time.Duration
	// MaxFails failures (connection errors and 5xx answers) within
	// FailTimeout eject a server for FailTimeout; 0 turns passive health
	// checking off.
	MaxFails    int
	FailTimeout time.Duration
	// NoRetry turns off the one retry, on another server, of a request
	// without a body whose server could not be connected to.
	NoRetry bool
}

// ServiceHandler serves each request of a service through a Picker.
type ServiceHandler struct {
	p       Picker
	o       HandlerOptions
	retries int // connect-failure retries: one per other server, at most maxConnectRetries
}

// maxConnectRetries bounds the servers a request whose servers refuse
// connections tries after the first: each try is cheap (nothing was sent)
// but a service whose servers all died should answer quickly.
const maxConnectRetries = 3

// Handler serves each request through p with the default options.
func Handler(p Picker) http.Handler { return NewHandler(p, HandlerOptions{}) }

// NewHandler returns the handler of a service: it picks a server, sets the
// picker's cookie if any, serves the request with the server's Handler,
// releases the server and calls Done. When every server is full it waits up
// to QueueTimeout for one; ErrNoServer (and a wait that timed out) becomes
// a plain-text 503. A request without a body whose server refuses the
// connection is sent to another server (up to three others), as nginx's
// default `proxy_next_upstream error` does: nothing reached the first
// server, so nothing happens twice. Failures feed passive health when it is
// on.
func NewHandler(p Picker, o HandlerOptions) *ServiceHandler {
	if o.QueueTimeout == 0 {
		o.QueueTimeout = DefaultQueueTimeout
	}
	h := &ServiceHandler{p: p, o: o}
	if e, ok := p.(excepter); ok && !o.NoRetry {
		h.retries = min(len(e.serverList())-1, maxConnectRetries)
	}
	return h
}

// Healthy reports whether the service has an available server; composite
// services (weighted, failover) use it.
func (h *ServiceHandler) Healthy() bool { return Healthy(h.p) }

// ServeHTTP serves one request.
func (h *ServiceHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	res, err := h.pick(r)
	if err != nil {
		if errors.Is(err, ErrNoServer) || errors.Is(err, ErrFull) {
			plainError(w, http.StatusServiceUnavailable)
		} else {
			plainError(w, http.StatusInternalServerError)
		}
		return
	}
	if res.Server == nil || res.Server.Handler == nil {
		if res.Server != nil {
			res.Server.Release()
		}
		if res.Done != nil {
			res.Done(ErrNoServer)
		}
		plainError(w, http.StatusBadGateway)
		return
	}
	passive := h.o.MaxFails > 0
	retry := h.retries > 0 && noBody(r)
	if res.SetCookie != nil {
		setCookie(w.Header(), res.SetCookie)
	}
	if !passive && !retry {
		// The common case needs no wrapper and allocates nothing here.
		h.serve(w, r, res, nil)
		return
	}
	aw := attemptPool.Get().(*attemptWriter)
	*aw = attemptWriter{ResponseWriter: w, h: h, r: r, cur: res.Server}
	if retry {
		aw.retriesLeft = h.retries
	}
	defer func() {
		*aw = attemptWriter{}
		attemptPool.Put(aw)
	}()
	h.serve(aw, r, res, aw)
	for aw.next != nil {
		// The server could not be connected to and the hook found
		// another one; nothing was written to the client yet.
		next := *aw.next
		aw.next, aw.status, aw.err, aw.cur = nil, 0, nil, next.Server
		if res.SetCookie != nil {
			removeCookie(w.Header(), res.SetCookie)
		}
		if next.SetCookie != nil {
			setCookie(w.Header(), next.SetCookie)
		}
		res = next
		h.serve(aw, r, res, aw)
	}
}

// pick picks, waiting up to QueueTimeout while every server is full. The
// wait polls with a short backoff: the wait is rare and bounded, and a
// wake-up channel per release would cost every request.
func (h *ServiceHandler) pick(r *http.Request) (PickResult, error) {
	res, err := h.p.Pick(r)
	if err != ErrFull || h.o.QueueTimeout < 0 {
		return res, err
	}
	deadline := time.Now().Add(h.o.QueueTimeout)
	step := 500 * time.Microsecond
	t := time.NewTimer(step)
	defer t.Stop()
	for {
		select {
		case <-r.Context().Done():
			return PickResult{}, ErrFull
		case <-t.C:
		}
		res, err = h.p.Pick(r)
		if err != ErrFull {
			return res, err
		}
		left := time.Until(deadline)
		if left <= 0 {
			return PickResult{}, ErrFull
		}
		step = min(step*2, 5*time.Millisecond, left)
		t.Reset(step)
	}
}

// serve runs the server's handler, then releases the server, records the
// outcome for passive health and calls Done, even when the handler panics;
// the panic is not recovered so that it keeps its stack trace for net/http.
func (h *ServiceHandler) serve(w http.ResponseWriter, r *http.Request, res PickResult, aw *attemptWriter) {
	served := false
	defer func() {
		res.Server.Release()
		var err error
		if !served {
			err = errPanicked
		} else if aw != nil && aw.next == nil {
			err = aw.err
		}
		if aw != nil && aw.next == nil && h.o.MaxFails > 0 && r.Context().Err() == nil {
			if !served || aw.err != nil || aw.status >= 500 {
				res.Server.load().Passive.Failure(time.Now(), h.o.MaxFails, h.o.FailTimeout)
			}
		}
		if aw != nil && aw.next != nil && h.o.MaxFails > 0 {
			// A refused connection is a failure even though the
			// request was saved by the retry.
			res.Server.load().Passive.Failure(time.Now(), h.o.MaxFails, h.o.FailTimeout)
		}
		if res.Done != nil {
			res.Done(err)
		}
	}()
	res.Server.Handler.ServeHTTP(w, r)
	served = true
}

// noBody reports a request without a body: one that can be sent again
// without having kept anything.
func noBody(r *http.Request) bool {
	return r.ContentLength == 0 && (r.Body == nil || r.Body == http.NoBody)
}

func setCookie(h http.Header, c *http.Cookie) {
	if v := c.String(); v != "" {
		h["Set-Cookie"] = append(h["Set-Cookie"], v)
	}
}

// removeCookie removes the Set-Cookie line that setCookie added for c and
// leaves the ones other middlewares set.
func removeCookie(h http.Header, c *http.Cookie) {
	v := c.String()
	l := h["Set-Cookie"]
	for i := len(l) - 1; i >= 0; i-- {
		if l[i] == v {
			h["Set-Cookie"] = append(l[:i:i], l[i+1:]...)
			return
		}
	}
}

var attemptPool = sync.Pool{New: func() any { return new(attemptWriter) }}

// attemptWriter watches one request's response for the service handler: it
// records the status for passive health, and implements
// proxy.UpstreamErrorHandler so that a refused connection can be retried on
// another server before anything reached the client.
type attemptWriter struct {
	http.ResponseWriter
	h           *ServiceHandler
	r           *http.Request
	cur         *Server
	retriesLeft int
	status      int
	err         error
	next        *PickResult
	nextRes     PickResult
}

// UpstreamError is called by the proxy when forwarding failed before any
// byte reached the client. A connect failure of a request that may be
// retried is taken over if another server can take it.
func (a *attemptWriter) UpstreamError(err error) bool {
	a.err = err
	if a.retriesLeft <= 0 || !proxy.IsConnectError(err) || a.r.Context().Err() != nil {
		if eh, ok := a.ResponseWriter.(proxy.UpstreamErrorHandler); ok {
			// A retry middleware further out may take it over.
			return eh.UpstreamError(err)
		}
		return false
	}
	a.retriesLeft--
	res, perr := PickExcept(a.h.p, a.r, a.cur)
	if perr != nil {
		if eh, ok := a.ResponseWriter.(proxy.UpstreamErrorHandler); ok {
			return eh.UpstreamError(err)
		}
		return false
	}
	a.nextRes = res
	a.next = &a.nextRes
	return true
}

func (a *attemptWriter) WriteHeader(code int) {
	if a.status == 0 && code >= 200 {
		a.status = code
	}
	a.ResponseWriter.WriteHeader(code)
}

func (a *attemptWriter) Write(p []byte) (int, error) {
	if a.status == 0 {
		a.status = http.StatusOK
	}
	return a.ResponseWriter.Write(p)
}

// Flush passes flushes through, which streaming responses need.
func (a *attemptWriter) Flush() { _ = a.FlushError() }

// FlushError flushes and reports the error.
func (a *attemptWriter) FlushError() error {
	switch f := a.ResponseWriter.(type) {
	case interface{ FlushError() error }:
		return f.FlushError()
	case http.Flusher:
		f.Flush()
		return nil
	}
	return http.NewResponseController(a.ResponseWriter).Flush()
}

// Unwrap lets http.ResponseController reach the connection (Hijack for
// WebSockets, deadlines).
func (a *attemptWriter) Unwrap() http.ResponseWriter { return a.ResponseWriter }

// plainError writes "<Status Text>\n" as text/plain with code.
func plainError(w http.ResponseWriter, code int) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	_, _ = w.Write([]byte(http.StatusText(code) + "\n"))
}

var (
	_ http.Handler                    = (*ServiceHandler)(nil)
	_ proxy.UpstreamErrorHandler      = (*attemptWriter)(nil)
	_ http.Flusher                    = (*attemptWriter)(nil)
	_ interface{ FlushError() error } = (*attemptWriter)(nil)
)
