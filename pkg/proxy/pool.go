package proxy

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"sync"
	"time"

	"go.uber.org/zap"
)

// TransportOptions says how to reach servers; equal options share connections.
type TransportOptions struct {
	DialTimeout           time.Duration // default 30s
	ResponseHeaderTimeout time.Duration // 0 = none; exceeded → 504
	IdleConnTimeout       time.Duration // default 90s
	MaxIdleConnsPerHost   int           // default 200
	TLSConfig             *tls.Config   // for https:// servers (nil = system roots)
}

func (o TransportOptions) withDefaults() TransportOptions {
	if o.DialTimeout <= 0 {
		o.DialTimeout = 30 * time.Second
	}
	if o.IdleConnTimeout <= 0 {
		o.IdleConnTimeout = 90 * time.Second
	}
	if o.MaxIdleConnsPerHost <= 0 {
		o.MaxIdleConnsPerHost = 200
	}
	return o
}

// poolKey identifies one set of interchangeable connections. TransportOptions
// is comparable (the TLS config is compared by pointer), so equal options
// given by two routing tables map to the same warm connections.
type poolKey struct {
	scheme string // "http", "https" or "h2c"
	addr   string // host:port
	opts   TransportOptions
}

// Pool owns upstream connections, keyed by server address + TransportOptions.
// It outlives routing tables: a new table asks the same Pool for handlers,
// and gets the same warm connections.
type Pool struct {
	logger *zap.Logger

	mu       sync.Mutex
	hosts    map[poolKey]*hostPool
	h2       map[poolKey]*h2Proxy
	closed   bool
	interval time.Duration // current janitor period

	ticker *time.Ticker
	done   chan struct{}
	wg     sync.WaitGroup
}

// NewPool returns an empty Pool. A nil logger discards logs. Close stops its
// janitor and closes idle connections.
func NewPool(logger *zap.Logger) *Pool {
	if logger == nil {
		logger = zap.NewNop()
	}
	p := &Pool{
		logger:   logger,
		hosts:    make(map[poolKey]*hostPool),
		h2:       make(map[poolKey]*h2Proxy),
		interval: 30 * time.Second,
		done:     make(chan struct{}),
	}
	p.ticker = time.NewTicker(p.interval)
	p.wg.Add(1)
	go p.janitor()
	return p
}

// Close closes idle connections and stops the janitor. Connections in use
// are closed when their request ends. Handlers keep working after Close, but
// without keep-alive.
func (p *Pool) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	hosts := make([]*hostPool, 0, len(p.hosts))
	for _, hp := range p.hosts {
		hosts = append(hosts, hp)
	}
	h2s := make([]*h2Proxy, 0, len(p.h2))
	for _, hp := range p.h2 {
		h2s = append(h2s, hp)
	}
	p.mu.Unlock()

	close(p.done)
	p.ticker.Stop()
	p.wg.Wait()
	for _, hp := range hosts {
		hp.close()
	}
	for _, hp := range h2s {
		hp.transport.CloseIdleConnections()
	}
	return nil
}

// janitor closes idle connections that outlived IdleConnTimeout, so a quiet
// pool does not hold sockets the server has long forgotten.
func (p *Pool) janitor() {
	defer p.wg.Done()
	for {
		select {
		case <-p.done:
			return
		case now := <-p.ticker.C:
			p.mu.Lock()
			hosts := make([]*hostPool, 0, len(p.hosts))
			for _, hp := range p.hosts {
				hosts = append(hosts, hp)
			}
			p.mu.Unlock()
			for _, hp := range hosts {
				hp.closeExpired(now)
			}
			p.forgetUnused(now)
		}
	}
}

// unusedAfter is how long a server's pool may go without a returned
// connection before the Pool forgets it.
const unusedAfter = 10 * time.Minute

// forgetUnused drops the pools of servers that hold no idle connection and
// have not been used for unusedAfter. Container addresses come and go, and
// without this the map would grow with every address ever seen. A handler
// of an old table that still holds a forgotten pool keeps working with it;
// a new table gets a fresh one.
func (p *Pool) forgetUnused(now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for k, hp := range p.hosts {
		hp.mu.Lock()
		unused := len(hp.idle) == 0 && now.Sub(hp.lastPut) > max(unusedAfter, 2*hp.opts.IdleConnTimeout)
		hp.mu.Unlock()
		if unused {
			delete(p.hosts, k)
		}
	}
}

// hostPoolFor returns the shared pool for key, creating it on first use.
func (p *Pool) hostPoolFor(key poolKey, serverName string) *hostPool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if hp := p.hosts[key]; hp != nil {
		return hp
	}
	opts := key.opts.withDefaults()
	hp := &hostPool{
		addr:    key.addr,
		opts:    opts,
		dialer:  net.Dialer{Timeout: opts.DialTimeout, KeepAlive: 30 * time.Second},
		closed:  p.closed,
		lastPut: time.Now(),
	}
	if key.scheme == "https" {
		hp.tlsConfig = http1TLSConfig(opts.TLSConfig, serverName)
	}
	p.hosts[key] = hp
	// The janitor wakes often enough to honour the shortest idle timeout.
	if iv := max(opts.IdleConnTimeout/2, 50*time.Millisecond); iv < p.interval && !p.closed {
		p.interval = iv
		p.ticker.Reset(iv)
	}
	return hp
}

// h2ProxyFor returns the shared HTTP/2 transport and reverse proxy for key.
func (p *Pool) h2ProxyFor(key poolKey, serverName string) *h2Proxy {
	p.mu.Lock()
	defer p.mu.Unlock()
	if hp := p.h2[key]; hp != nil {
		return hp
	}
	hp := newH2Proxy(key, serverName)
	p.h2[key] = hp
	return hp
}

// http1TLSConfig clones the user's TLS config for the HTTP/1.1 client: ALPN
// offers only http/1.1 so the server never switches to HTTP/2 under us.
func http1TLSConfig(base *tls.Config, serverName string) *tls.Config {
	var cfg *tls.Config
	if base != nil {
		cfg = base.Clone()
	} else {
		cfg = &tls.Config{}
	}
	if cfg.ServerName == "" {
		cfg.ServerName = serverName
	}
	cfg.NextProtos = []string{"http/1.1"}
	return cfg
}

// hostPool is the LIFO stack of idle keep-alive connections to one server.
// LIFO keeps the hottest connections in use and lets the cold ones expire.
type hostPool struct {
	addr      string
	opts      TransportOptions // defaults applied
	dialer    net.Dialer
	tlsConfig *tls.Config // nil for plain TCP

	mu     sync.Mutex
	idle   []*conn
	closed bool
	// lastPut is when a connection was last returned; the janitor drops
	// pools for servers that have not been used for a long while.
	lastPut time.Time
}

// probeIdleAfter is how long a connection must have been idle before get
// checks that the server has not closed it.
const probeIdleAfter = 50 * time.Millisecond

// get pops the most recently used idle connection that has not expired, or
// returns nil when the caller must dial.
func (hp *hostPool) get(now time.Time) *conn {
	hp.mu.Lock()
	for n := len(hp.idle); n > 0; n = len(hp.idle) {
		c := hp.idle[n-1]
		hp.idle[n-1] = nil
		hp.idle = hp.idle[:n-1]
		idle := now.Sub(c.idleSince)
		if idle < hp.opts.IdleConnTimeout && c.br.Buffered() == 0 {
			hp.mu.Unlock()
			// A server that closes idle keep-alive connections (Node's
			// 5 s keepAliveTimeout, gunicorn, uvicorn) would otherwise make
			// the next request on this one fail, and a POST cannot be
			// replayed: the classic stray 502. The probe is one
			// non-blocking syscall, skipped for connections idle so briefly
			// (all of them under load) that an idle timeout cannot have
			// fired.
			if idle < probeIdleAfter || !peerClosed(c.raw) {
				c.reused = true
				return c
			}
		} else {
			// Expired, or the server sent bytes while the connection was
			// idle (typically a 408 before closing): it cannot carry a new
			// request.
			hp.mu.Unlock()
		}
		c.close()
		hp.mu.Lock()
	}
	hp.mu.Unlock()
	return nil
}

// put returns a connection whose last response was fully read.
func (hp *hostPool) put(c *conn, now time.Time) {
	hp.mu.Lock()
	if hp.closed || len(hp.idle) >= hp.opts.MaxIdleConnsPerHost {
		hp.mu.Unlock()
		c.close()
		return
	}
	c.idleSince = now
	hp.lastPut = now
	hp.idle = append(hp.idle, c)
	hp.mu.Unlock()
}

// closeExpired closes idle connections older than IdleConnTimeout. The
// oldest are at the bottom of the stack.
func (hp *hostPool) closeExpired(now time.Time) {
	hp.mu.Lock()
	var expired []*conn
	n := 0
	for n < len(hp.idle) && now.Sub(hp.idle[n].idleSince) >= hp.opts.IdleConnTimeout {
		n++
	}
	if n > 0 {
		expired = append(expired, hp.idle[:n]...)
		m := copy(hp.idle, hp.idle[n:])
		clear(hp.idle[m:])
		hp.idle = hp.idle[:m]
	}
	hp.mu.Unlock()
	for _, c := range expired {
		c.close()
	}
}

func (hp *hostPool) close() {
	hp.mu.Lock()
	hp.closed = true
	idle := hp.idle
	hp.idle = nil
	hp.mu.Unlock()
	for _, c := range idle {
		c.close()
	}
}

// dial opens a new connection, with TLS when the server is https://.
func (hp *hostPool) dial(ctx context.Context) (*conn, error) {
	nc, err := hp.dialer.DialContext(ctx, "tcp", hp.addr)
	if err != nil {
		if ctx.Err() == nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return nil, &dialError{addr: hp.addr, err: errDialTimeout, cause: err}
			}
		}
		return nil, &dialError{addr: hp.addr, err: err}
	}
	tcp := nc
	if hp.tlsConfig != nil {
		tc := tls.Client(nc, hp.tlsConfig)
		hctx, cancel := context.WithTimeout(ctx, hp.opts.DialTimeout)
		err := tc.HandshakeContext(hctx)
		cancel()
		if err != nil {
			nc.Close()
			if ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
				return nil, &dialError{addr: hp.addr, err: errDialTimeout, cause: err}
			}
			return nil, &dialError{addr: hp.addr, err: err}
		}
		nc = tc
	}
	return newConn(nc, tcp), nil
}

// dialError wraps a dial or TLS handshake failure with the address.
type dialError struct {
	addr  string
	err   error // what ErrorStatus looks at
	cause error // the original error when err replaced it
}

func (e *dialError) Error() string {
	if e.cause != nil {
		return "proxy: dial " + e.addr + ": " + e.err.Error() + ": " + e.cause.Error()
	}
	return "proxy: dial " + e.addr + ": " + e.err.Error()
}
func (e *dialError) Unwrap() error { return e.err }

// Handler returns a handler that forwards to t. It is cheap: the connections
// live in the Pool. A nil or unusable URL yields a handler answering 502.
func (p *Pool) Handler(t Target, opts TransportOptions) http.Handler {
	return p.newHandler(t, opts)
}
