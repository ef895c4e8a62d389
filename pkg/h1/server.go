package h1

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
)

// Client-disconnect detection.
//
// net/http starts a goroutine per request, once the body is consumed, that
// blocks in a one-byte read so that a client closing the connection cancels
// the request context. That goroutine plus the two read-deadline changes
// needed to stop it cost several microseconds per request
// (BenchmarkServe/h1-eager-bgread measures it), more than the rest of
// serving a small request. Handlers that finish quickly gain nothing from
// it, so berth starts it lazily: a per-server watchdog ticking every
// bgReadTick starts the read for handlers that have been running for at
// least one full tick (so between bgReadTick and 2*bgReadTick) with their
// body consumed. Fast requests pay only two atomic stores.
const bgReadTick = 50 * time.Millisecond

// Server serves HTTP/1.0 and HTTP/1.1 strictly. Its zero value (with a
// Handler) is usable; its fields must not change after serving started.
type Server struct {
	Handler           http.Handler
	ReadTimeout       time.Duration // whole request incl. body; 0 = none
	ReadHeaderTimeout time.Duration // request line + headers; 0 = ReadTimeout
	WriteTimeout      time.Duration // 0 = none
	IdleTimeout       time.Duration // keep-alive wait between requests; 0 = ReadTimeout
	MaxHeaderBytes    int           // 0 = 1 MiB (http.DefaultMaxHeaderBytes)
	// MaxKeepAliveRequests closes a connection after this many requests;
	// 0 = unlimited.
	MaxKeepAliveRequests int
	Logger               *zap.Logger     // nil = zap.NewNop(); never logs per request
	BaseContext          context.Context // parent of every request context; nil = Background
	// ConnState, if set, is called when a connection changes state, with
	// net/http's states (new, active, idle, hijacked, closed).
	ConnState func(net.Conn, http.ConnState)

	// eagerBackgroundRead starts the disconnect-detection read for every
	// request, as net/http does; only the benchmark sets it.
	eagerBackgroundRead bool

	inShutdown atomic.Bool
	tick       atomic.Int64 // watchdog ticks

	mu        sync.Mutex
	conns     map[*conn]struct{}
	listeners map[net.Listener]struct{}
	watching  bool // the watchdog goroutine runs

	lastPanicLog atomic.Int64 // unix seconds of the last panic logged
	panics       atomic.Int64 // panics not logged because of the rate limit
}

func (s *Server) readHeaderTimeout() time.Duration {
	if s.ReadHeaderTimeout > 0 {
		return s.ReadHeaderTimeout
	}
	return s.ReadTimeout
}

func (s *Server) idleTimeout() time.Duration {
	if s.IdleTimeout > 0 {
		return s.IdleTimeout
	}
	return s.ReadTimeout
}

func (s *Server) maxHeaderBytes() int {
	if s.MaxHeaderBytes > 0 {
		return s.MaxHeaderBytes
	}
	return http.DefaultMaxHeaderBytes
}

func (s *Server) baseContext() context.Context {
	if s.BaseContext != nil {
		return s.BaseContext
	}
	return context.Background()
}

func (s *Server) handler() http.Handler {
	if s.Handler != nil {
		return s.Handler
	}
	return http.NotFoundHandler()
}

func (s *Server) shuttingDown() bool { return s.inShutdown.Load() }

func (s *Server) connState(c net.Conn, st http.ConnState) {
	if s.ConnState != nil {
		s.ConnState(c, st)
	}
}

// ServeConn serves requests on c until the client closes it, an error, or
// Shutdown. c may be a *tls.Conn; its handshake is completed first if
// needed, and req.TLS is set from its ConnectionState.
func (s *Server) ServeConn(c net.Conn) {
	if tc, ok := c.(interface{ HandshakeContext(context.Context) error }); ok {
		if d := s.readHeaderTimeout(); d > 0 {
			c.SetDeadline(time.Now().Add(d))
		}
		if err := tc.HandshakeContext(s.baseContext()); err != nil {
			c.Close()
			return
		}
		c.SetDeadline(time.Time{})
	}
	cn := newConn(s, c)
	if !s.track(cn) {
		c.Close()
		cn.release()
		return
	}
	s.connState(c, http.StateNew)
	defer func() {
		cn.close()
		cn.release()
	}()
	cn.serve()
}

// track registers a connection; it fails once Shutdown has started.
func (s *Server) track(c *conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.shuttingDown() {
		return false
	}
	if s.conns == nil {
		s.conns = make(map[*conn]struct{})
	}
	s.conns[c] = struct{}{}
	if !s.watching {
		s.watching = true
		go s.watchdog()
	}
	return true
}

func (s *Server) untrack(c *conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
}

// watchdog starts background reads for slow handlers (see bgReadTick). It
// exits when the server has no connections left.
func (s *Server) watchdog() {
	t := time.NewTicker(bgReadTick)
	defer t.Stop()
	for range t.C {
		tick := s.tick.Add(1)
		s.mu.Lock()
		if len(s.conns) == 0 {
			s.watching = false
			s.mu.Unlock()
			return
		}
		for c := range s.conns {
			if c.bg.Load() == bgEligible && tick-c.bgTick.Load() >= 2 {
				c.startBackgroundRead()
			}
		}
		s.mu.Unlock()
	}
}

// Serve accepts connections on ln and serves each in its own goroutine
// until ln is closed. After Shutdown it returns http.ErrServerClosed.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.shuttingDown() {
		s.mu.Unlock()
		return http.ErrServerClosed
	}
	if s.listeners == nil {
		s.listeners = make(map[net.Listener]struct{})
	}
	s.listeners[ln] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, ln)
		s.mu.Unlock()
	}()

	var backoff time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			if s.shuttingDown() {
				return http.ErrServerClosed
			}
			if errors.Is(err, net.ErrClosed) {
				return err
			}
			// Probably out of file descriptors: back off instead of
			// spinning, as net/http does.
			if backoff == 0 {
				backoff = 5 * time.Millisecond
			} else if backoff *= 2; backoff > time.Second {
				backoff = time.Second
			}
			s.logger().Warn("h1: accept error; retrying", zap.Error(err), zap.Duration("delay", backoff))
			time.Sleep(backoff)
			continue
		}
		backoff = 0
		go s.ServeConn(c)
	}
}

// Shutdown stops keep-alive: listeners and idle connections are closed at
// once, active ones after their current response (sent with "Connection:
// close"). It waits until all connections are gone or ctx is done; then it
// closes the remaining connections forcibly and returns ctx.Err().
// Hijacked connections are not tracked.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.inShutdown.Store(true)
	for ln := range s.listeners {
		ln.Close()
	}
	s.mu.Unlock()

	wait := time.Millisecond
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		if s.closeIdle() {
			return nil
		}
		select {
		case <-ctx.Done():
			s.mu.Lock()
			for c := range s.conns {
				c.rwc.Close()
			}
			s.mu.Unlock()
			return ctx.Err()
		case <-timer.C:
			if wait < 100*time.Millisecond {
				wait *= 2
			}
			timer.Reset(wait)
		}
	}
}

// closeIdle closes connections that are between requests and reports
// whether no connection is left.
func (s *Server) closeIdle() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		if c.state.CompareAndSwap(stateIdle, stateClosing) || c.state.CompareAndSwap(stateNew, stateClosing) {
			c.rwc.Close()
		}
	}
	return len(s.conns) == 0
}

// logPanic logs a handler panic, at most once a second so that a handler
// panicking on every request cannot flood the log.
func (s *Server) logPanic(v any, req *http.Request) {
	now := time.Now().Unix()
	last := s.lastPanicLog.Load()
	if now == last || !s.lastPanicLog.CompareAndSwap(last, now) {
		s.panics.Add(1)
		return
	}
	s.logger().Error("h1: handler panic; connection closed",
		zap.String("panic", fmt.Sprint(v)),
		zap.String("method", req.Method),
		zap.String("uri", req.RequestURI),
		zap.Int64("suppressed", s.panics.Swap(0)),
		zap.StackSkip("stack", 3))
}
