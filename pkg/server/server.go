// Package server runs berth's entrypoints: it listens, tells TLS from plain
// HTTP on each new connection, serves HTTP/1 with berth's strict server
// (pkg/h1) and HTTP/2 on TLS with golang.org/x/net/http2, prepares every
// request (forwarded headers, redirections) and hands it to the routing table
// in force, which it swaps atomically on every configuration change.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/berthproxy/berth/pkg/config"
	"github.com/berthproxy/berth/pkg/h1"
	"github.com/berthproxy/berth/pkg/routing"
	"github.com/berthproxy/berth/pkg/tlsx"
)

// Server owns the entrypoints and the routing table in force.
type Server struct {
	logger      *zap.Logger
	table       atomic.Pointer[routing.Table]
	entryPoints []*EntryPoint
	draining    atomic.Bool
	tlsConfig   *tls.Config
	wg          sync.WaitGroup
	acme        atomic.Pointer[acmeBox] // see acme.go
}

// EntryPoint is one listening address.
type EntryPoint struct {
	Name string
	cfg  *config.EntryPoint
	srv  *Server
	ln   net.Listener
	h1   *h1.Server
	// h2 serves HTTP/2 connections (TLS with ALPN h2). They are handed
	// to it through h2ln after berth's own accept loop has sniffed and
	// completed the TLS handshake; net/http's built-in HTTP/2 server
	// takes it from there and handles GOAWAY on Shutdown.
	h2       *http.Server
	h2ln     *connListener
	fwd      *forwarded
	redirect *redirect
	// sanitizePath cleans request paths before routing (sanitize.go).
	sanitizePath bool
	handler      http.Handler
	logger       *zap.Logger
	obs          *epObserver // nil unless Observe was called (observe.go)
}

// New binds every entrypoint of the static configuration, so that a port
// already in use is reported at start rather than later.
func New(static *config.Static, logger *zap.Logger) (*Server, error) {
	if logger == nil {
		logger = zap.NewNop()
	}
	s := &Server{logger: logger.Named("server")}
	s.table.Store(routing.Build(nil, nil, 0, routing.Deps{EntryPoints: static.EntryPoints, Pools: routing.NewPools(nil)}))
	s.tlsConfig = tlsx.ServerConfig(func() *tlsx.Store { return s.table.Load().TLS() }, func(name string) *config.TLSOption {
		return s.table.Load().TLSOption(name)
	}, s.tlsOptions()...)
	hostname, _ := os.Hostname()
	for _, name := range slices.Sorted(maps.Keys(static.EntryPoints)) {
		ep, err := s.newEntryPoint(name, static.EntryPoints[name], static.EntryPoints, hostname)
		if err != nil {
			s.closeListeners()
			return nil, err
		}
		s.entryPoints = append(s.entryPoints, ep)
	}
	return s, nil
}

func (s *Server) newEntryPoint(name string, cfg *config.EntryPoint, all map[string]*config.EntryPoint, hostname string) (*EntryPoint, error) {
	if cfg == nil {
		cfg = &config.EntryPoint{}
		cfg.SetDefaults()
	}
	ep := &EntryPoint{Name: name, cfg: cfg, srv: s, logger: s.logger.With(zap.String("entryPoint", name))}
	fwd, err := newForwarded(cfg.ForwardedHeaders, hostname)
	if err != nil {
		return nil, fmt.Errorf("entrypoint %q: %v", name, err)
	}
	ep.fwd = fwd
	ep.sanitizePath = cfg.HTTP == nil || cfg.HTTP.SanitizePath
	if cfg.HTTP != nil && cfg.HTTP.Redirections != nil && cfg.HTTP.Redirections.EntryPoint != nil {
		rd, err := newRedirect(cfg.HTTP.Redirections.EntryPoint, all)
		if err != nil {
			return nil, fmt.Errorf("entrypoint %q: http.redirections.entryPoint: %v", name, err)
		}
		ep.redirect = rd
	}
	addr := strings.TrimSuffix(cfg.Address, "/tcp")
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("entrypoint %q: listen on %q: %v", name, cfg.Address, err)
	}
	var rt config.RespondingTimeouts
	if cfg.Transport != nil && cfg.Transport.RespondingTimeouts != nil {
		rt = *cfg.Transport.RespondingTimeouts
	}
	if pp := cfg.ProxyProtocol; pp != nil {
		hdrTimeout := rt.ReadHeaderTimeout.D()
		if hdrTimeout == 0 {
			hdrTimeout = rt.ReadTimeout.D()
		}
		if ln, err = proxyProtocolListener(ln, pp, hdrTimeout); err != nil {
			_ = ln.Close()
			return nil, fmt.Errorf("entrypoint %q: proxyProtocol: %v", name, err)
		}
	}
	ep.ln = ln
	maxHeader := 0
	if cfg.HTTP != nil {
		maxHeader = cfg.HTTP.MaxHeaderBytes
	}
	keepAliveMax := 0
	if cfg.Transport != nil {
		keepAliveMax = cfg.Transport.KeepAliveMaxRequests
	}
	ep.handler = http.HandlerFunc(ep.serveHTTP)
	ep.h1 = &h1.Server{
		Handler:              ep.handler,
		ReadTimeout:          rt.ReadTimeout.D(),
		ReadHeaderTimeout:    rt.ReadHeaderTimeout.D(),
		WriteTimeout:         rt.WriteTimeout.D(),
		IdleTimeout:          rt.IdleTimeout.D(),
		MaxHeaderBytes:       maxHeader,
		MaxKeepAliveRequests: keepAliveMax,
		Logger:               ep.logger.Named("h1"),
	}
	ep.h2 = &http.Server{
		Handler:           ep.handler,
		ReadTimeout:       rt.ReadTimeout.D(),
		ReadHeaderTimeout: rt.ReadHeaderTimeout.D(),
		WriteTimeout:      rt.WriteTimeout.D(),
		IdleTimeout:       rt.IdleTimeout.D(),
		MaxHeaderBytes:    maxHeader,
		ErrorLog:          zap.NewStdLog(ep.logger.Named("h2")),
	}
	if cfg.HTTP2 != nil && cfg.HTTP2.MaxConcurrentStreams > 0 {
		ep.h2.HTTP2 = &http.HTTP2Config{MaxConcurrentStreams: cfg.HTTP2.MaxConcurrentStreams}
	}
	ep.h2ln = newConnListener(ln.Addr())
	return ep, nil
}

// Addr is the address an entrypoint listens on (useful with port 0).
func (ep *EntryPoint) Addr() net.Addr { return ep.ln.Addr() }

// EntryPoint returns an entrypoint by name, or nil.
func (s *Server) EntryPoint(name string) *EntryPoint {
	for _, ep := range s.entryPoints {
		if ep.Name == name {
			return ep
		}
	}
	return nil
}

// Swap puts a new routing table in force. Requests already running finish
// on the table they started with; the old table is closed when it is no
// longer current (tables hold no per-request resources, see Table.Close).
func (s *Server) Swap(t *routing.Table) {
	if old := s.table.Swap(t); old != nil && old != t {
		old.Close()
	}
}

// Table returns the routing table in force.
func (s *Server) Table() *routing.Table { return s.table.Load() }

// Draining reports whether the server is shutting down (for /ping).
func (s *Server) Draining() bool { return s.draining.Load() }

// Start begins accepting on every entrypoint.
func (s *Server) Start() {
	for _, ep := range s.entryPoints {
		s.wg.Add(1)
		go func(ep *EntryPoint) {
			defer s.wg.Done()
			ep.acceptLoop()
		}(ep)
		go func(ep *EntryPoint) { _ = ep.h2.Serve(ep.h2ln) }(ep)
	}
}

func (ep *EntryPoint) acceptLoop() {
	var backoff time.Duration
	for {
		c, err := ep.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Temporary errors (EMFILE) must not end the loop; back off
			// as net/http does.
			if backoff == 0 {
				backoff = 5 * time.Millisecond
			} else if backoff *= 2; backoff > time.Second {
				backoff = time.Second
			}
			ep.logger.Warn("accept failed", zap.Error(err), zap.Duration("retryIn", backoff))
			time.Sleep(backoff)
			continue
		}
		backoff = 0
		go ep.serveConn(c)
	}
}

// serveConn tells TLS from plain HTTP by the first byte (a TLS record of
// type handshake is 0x16), as Traefik does, so one entrypoint serves both.
func (ep *EntryPoint) serveConn(c net.Conn) {
	ep.countConn(1)
	defer ep.countConn(-1)
	if tc, ok := rawConn(c).(*net.TCPConn); ok {
		_ = tc.SetNoDelay(true)
	}
	hdrTimeout := ep.h1.ReadHeaderTimeout
	if hdrTimeout == 0 {
		hdrTimeout = ep.h1.ReadTimeout
	}
	if hdrTimeout > 0 {
		_ = c.SetReadDeadline(time.Now().Add(hdrTimeout))
	}
	var b [1]byte
	if _, err := c.Read(b[:]); err != nil {
		_ = c.Close()
		return
	}
	_ = c.SetReadDeadline(time.Time{})
	pc := &peekedConn{Conn: c, first: []byte{b[0]}}
	if b[0] != 0x16 {
		ep.h1.ServeConn(pc)
		return
	}
	tc := tls.Server(pc, ep.srv.tlsConfig)
	if hdrTimeout > 0 {
		_ = tc.SetDeadline(time.Now().Add(hdrTimeout))
	}
	if err := tc.Handshake(); err != nil {
		ep.logger.Debug("TLS handshake failed", zap.String("remote", c.RemoteAddr().String()), zap.Error(err))
		_ = tc.Close()
		return
	}
	_ = tc.SetDeadline(time.Time{})
	if isACMEValidation(tc) {
		_ = tc.Close()
		return
	}
	if tc.ConnectionState().NegotiatedProtocol == "h2" {
		ep.h2ln.hand(tc)
		return
	}
	ep.h1.ServeConn(tc)
}

// serveHTTP prepares a request and routes it with the table in force.
func (ep *EntryPoint) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodConnect {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusNotImplemented)
		_, _ = w.Write([]byte("CONNECT is not supported\n"))
		return
	}
	// An `Upgrade: h2c` from a client is never honoured nor forwarded:
	// berth speaks HTTP/2 to clients only over TLS.
	if up := r.Header[hUpg]; len(up) > 0 && strings.EqualFold(strings.TrimSpace(up[0]), "h2c") {
		delete(r.Header, hUpg)
		delete(r.Header, "Http2-Settings")
	}
	if ep.sanitizePath {
		sanitizeURL(r.URL)
	}
	if ep.serveACMEChallenge(w, r) {
		return
	}
	ep.fwd.apply(r)
	if ep.redirect != nil && r.TLS == nil {
		ep.redirect.ServeHTTP(w, r)
		return
	}
	t := ep.srv.table.Load()
	if h := t.Handler(ep.Name); h != nil {
		h.ServeHTTP(w, r)
		return
	}
	routing.NotFound(w)
}

// Shutdown drains the server: /ping starts answering 503 at once, the
// entrypoints keep accepting for requestAcceptGraceTimeout (so a load
// balancer in front notices), then stop accepting and let requests in
// flight finish for up to graceTimeOut.
func (s *Server) Shutdown(ctx context.Context) error {
	s.draining.Store(true)
	var accept, grace time.Duration
	for _, ep := range s.entryPoints {
		if lc := ep.lifeCycle(); lc != nil {
			accept = max(accept, lc.RequestAcceptGraceTimeout.D())
			grace = max(grace, lc.GraceTimeOut.D())
		}
	}
	if accept > 0 {
		select {
		case <-time.After(accept):
		case <-ctx.Done():
		}
	}
	s.closeListeners()
	if grace > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, grace)
		defer cancel()
	}
	var wg sync.WaitGroup
	errs := make(chan error, 2*len(s.entryPoints))
	for _, ep := range s.entryPoints {
		wg.Add(2)
		go func(ep *EntryPoint) { defer wg.Done(); errs <- ep.h1.Shutdown(ctx) }(ep)
		go func(ep *EntryPoint) {
			defer wg.Done()
			// Shutdown sends GOAWAY to HTTP/2 connections and waits
			// for their streams to finish.
			errs <- ep.h2.Shutdown(ctx)
		}(ep)
	}
	wg.Wait()
	s.wg.Wait()
	close(errs)
	var first error
	for err := range errs {
		if err != nil && first == nil {
			first = err
		}
	}
	return first
}

func (ep *EntryPoint) lifeCycle() *config.LifeCycle {
	if ep.cfg.Transport == nil {
		return nil
	}
	return ep.cfg.Transport.LifeCycle
}

func (s *Server) closeListeners() {
	for _, ep := range s.entryPoints {
		if ep.ln != nil {
			_ = ep.ln.Close()
		}
	}
}
