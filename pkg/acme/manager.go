package acme

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/berthproxy/berth/pkg/config"
)

// Defaults of Options.
const (
	DefaultRetryBase     = time.Minute
	DefaultRetryMax      = 24 * time.Hour
	DefaultOrderTimeout  = 3 * time.Minute
	DefaultMaxConcurrent = 4
	// maxSleep bounds the scheduler's sleep so that a clock jump is
	// noticed within the hour.
	maxSleep = time.Hour
)

// Options tune a Manager; the zero value is the production setting.
type Options struct {
	Logger *zap.Logger
	// Storage opens the storage named by a resolver's storage setting;
	// resolvers naming the same one share it. Nil: NewFileStorage.
	Storage func(path string) Storage
	// RetryBase and RetryMax bound the backoff after a failed attempt
	// (DefaultRetryBase, DefaultRetryMax).
	RetryBase, RetryMax time.Duration
	// OrderTimeout bounds one attempt to obtain a certificate.
	OrderTimeout time.Duration
	// MaxConcurrent bounds the orders in progress at once.
	MaxConcurrent int
}

// Request is a certificate that the configuration needs: the names it must
// cover (the main one first) from a resolver, for a router.
type Request struct {
	Resolver string
	Domains  []string
	Router   string
	Source   string
}

// Manager obtains and renews certificates from ACME CAs for the routers
// that name a certificate resolver, stores them, and serves them to
// handshakes. Update tells it what the configuration needs; Run does the
// work in the background; Certificate, TLSALPNCertificate and
// ServeHTTPChallenge are called by the entrypoints.
type Manager struct {
	logger    *zap.Logger
	opts      Options
	resolvers map[string]*resolver
	names     []string // resolver names, sorted
	httpEPs   map[string]bool
	chal      challenges
	index     atomic.Pointer[certIndex]
	onDemand  *onDemand
	wake      chan struct{}
	sem       chan struct{}
	wg        sync.WaitGroup

	mu            sync.Mutex
	runCtx        context.Context // set by Run; nil before
	configIssues  []config.Issue
	storageIssues []config.Issue
}

// certState is one certificate the manager takes care of: a domain set of
// a resolver, with its current certificate (if any) and schedule. Fields
// are guarded by Manager.mu.
type certState struct {
	key     string
	domains []string
	cert    *tls.Certificate // nil until obtained
	// wanted is true while a router of the current configuration needs
	// the certificate; only wanted certificates are renewed. Stored
	// certificates are served while valid even when not wanted.
	wanted   bool
	onDemand bool
	routers  []string
	// renewAt is when to renew; recheck when to ask the CA's renewal
	// information again (zero: never).
	renewAt, recheck time.Time
	busy             bool
	done             chan struct{} // closed when the work in progress ends
	failures         int
	nextTry          time.Time
	lastErr          error
	issuedAt         time.Time
}

// New validates the certificate resolvers and loads their storage. Fatal
// issues (invalid configuration) mean the resolver is left out; the caller
// normally refuses to start. Non-fatal issues (a corrupt storage file moved
// aside) are also kept in Issues.
func New(resolvers map[string]*config.CertificateResolver, opts Options) (*Manager, []config.Issue) {
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	if opts.RetryBase <= 0 {
		opts.RetryBase = DefaultRetryBase
	}
	if opts.RetryMax <= 0 {
		opts.RetryMax = DefaultRetryMax
	}
	if opts.OrderTimeout <= 0 {
		opts.OrderTimeout = DefaultOrderTimeout
	}
	if opts.MaxConcurrent <= 0 {
		opts.MaxConcurrent = DefaultMaxConcurrent
	}
	logger := opts.Logger.Named("acme")
	if opts.Storage == nil {
		opts.Storage = func(path string) Storage { return NewFileStorage(path, logger) }
	}
	m := &Manager{
		logger:    logger,
		opts:      opts,
		resolvers: map[string]*resolver{},
		httpEPs:   map[string]bool{},
		wake:      make(chan struct{}, 1),
		sem:       make(chan struct{}, opts.MaxConcurrent),
	}
	m.chal.init()
	m.index.Store(&certIndex{})
	var issues []config.Issue
	stores := map[string]Storage{}
	names := make([]string, 0, len(resolvers))
	for name := range resolvers {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		rc := resolvers[name]
		var a *config.ACME
		if rc != nil {
			a = rc.ACME
		}
		if is := Validate(name, a); len(is) > 0 {
			issues = append(issues, is...)
			continue
		}
		st, ok := stores[a.Storage]
		if !ok {
			st = opts.Storage(a.Storage)
			stores[a.Storage] = st
		}
		r, err := newResolver(m, name, a, st)
		if err != nil {
			issues = append(issues, config.Issue{Kind: "static", Key: "certificatesResolvers." + name + ".acme",
				Msg: err.Error(), Fatal: true})
			continue
		}
		m.resolvers[name] = r
		m.names = append(m.names, name)
		if a.HTTPChallenge != nil && a.HTTPChallenge.EntryPoint != "" {
			m.httpEPs[a.HTTPChallenge.EntryPoint] = true
		}
		if a.OnDemand != nil && m.onDemand == nil {
			m.onDemand = newOnDemand(m, r, a.OnDemand)
		}
	}
	// Load the storage now, before the first Update, so that a
	// certificate already stored is never ordered again at start.
	for _, name := range m.names {
		m.storageIssues = append(m.storageIssues, m.resolvers[name].load(context.Background())...)
	}
	for _, st := range stores {
		if fs, ok := st.(*FileStorage); ok {
			if c := fs.Corrupt(); c != nil {
				m.storageIssues = append(m.storageIssues, config.Issue{Kind: "acme", Key: "storage", Value: c.Path,
					Msg: fmt.Sprintf("the storage file was corrupt (%v); it was moved to %s and certificates are obtained again", c.Cause, c.MovedTo)})
			}
		}
	}
	m.mu.Lock()
	m.rebuildIndexLocked()
	m.mu.Unlock()
	return m, append(issues, m.storageIssues...)
}

// Resolvers returns the names of the resolvers in use, sorted.
func (m *Manager) Resolvers() []string { return slices.Clone(m.names) }

// Run obtains and renews certificates until ctx is done, then waits for
// the work in progress to stop.
func (m *Manager) Run(ctx context.Context) {
	m.mu.Lock()
	m.runCtx = ctx
	m.mu.Unlock()
	timer := time.NewTimer(maxSleep)
	defer timer.Stop()
	for {
		next := m.dispatch(ctx)
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		timer.Reset(max(time.Until(next), 0))
		select {
		case <-ctx.Done():
			m.wg.Wait()
			return
		case <-m.wake:
		case <-timer.C:
		}
	}
}

// poke makes Run look at the schedule again.
func (m *Manager) poke() {
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// Update tells the manager which certificates the configuration in force
// needs. A domain set not yet covered by a valid certificate of its
// resolver is ordered; one already covered is not ordered again. It returns
// the problems of the requests (unknown resolver), which are also part of
// Issues until the next Update.
func (m *Manager) Update(reqs []Request) []config.Issue {
	var issues []config.Issue
	now := time.Now()
	m.mu.Lock()
	for _, r := range m.resolvers {
		for _, st := range r.certs {
			st.wanted, st.routers = false, nil
		}
	}
	for _, req := range reqs {
		r := m.resolvers[req.Resolver]
		if r == nil {
			issues = append(issues, config.Issue{Source: req.Source, Kind: "acme", Object: req.Router,
				Key: "tls.certResolver", Value: req.Resolver,
				Msg: fmt.Sprintf("no certificate resolver named %q%s; the default certificate is served", req.Resolver, known(m.names))})
			continue
		}
		domains := normalizeDomains(req.Domains)
		if len(domains) == 0 {
			continue
		}
		st := r.certs[domainKey(domains)]
		if st == nil {
			st = r.covering(domains, now)
		}
		if st == nil {
			st = &certState{key: domainKey(domains), domains: domains}
			r.certs[st.key] = st
		}
		st.wanted = true
		st.routers = append(st.routers, req.Router)
	}
	m.configIssues = issues
	m.mu.Unlock()
	m.poke()
	return issues
}

// covering returns a state whose certificate is valid now and covers every
// name, so that a new domain set already covered is not ordered again.
// Manager.mu is held.
func (r *resolver) covering(domains []string, now time.Time) *certState {
	var best *certState
	for _, st := range r.certs {
		if st.cert == nil || now.After(st.cert.Leaf.NotAfter) || now.Before(st.cert.Leaf.NotBefore) {
			continue
		}
		ok := true
		for _, d := range domains {
			if st.cert.Leaf.VerifyHostname(d) != nil {
				ok = false
				break
			}
		}
		if ok && (best == nil || st.cert.Leaf.NotAfter.After(best.cert.Leaf.NotAfter)) {
			best = st
		}
	}
	return best
}

// due returns when a state needs work, and whether that work is only
// asking for renewal information again (the certificate is not due).
func (st *certState) due() (time.Time, bool) {
	if st.cert == nil {
		return st.nextTry, false
	}
	at, refresh := st.renewAt, false
	if !st.recheck.IsZero() && st.recheck.Before(at) {
		at, refresh = st.recheck, true
	}
	if st.nextTry.After(at) {
		at = st.nextTry
	}
	return at, refresh
}

// dispatch starts the work that is due and returns when the next is.
func (m *Manager) dispatch(ctx context.Context) time.Time {
	now := time.Now()
	next := now.Add(maxSleep)
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, name := range m.names {
		r := m.resolvers[name]
		for _, st := range r.certs {
			if st.busy || !(st.wanted || st.onDemand) {
				continue
			}
			at, refresh := st.due()
			if !at.After(now) {
				m.startLocked(ctx, r, st, refresh)
			} else if at.Before(next) {
				next = at
			}
		}
	}
	return next
}

// startLocked starts work on a state. Manager.mu is held.
func (m *Manager) startLocked(ctx context.Context, r *resolver, st *certState, refreshOnly bool) {
	st.busy = true
	st.done = make(chan struct{})
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		m.work(ctx, r, st, refreshOnly)
	}()
}

// work obtains a certificate for a state, or only refreshes its renewal
// information, and records the outcome.
func (m *Manager) work(ctx context.Context, r *resolver, st *certState, refreshOnly bool) {
	select {
	case m.sem <- struct{}{}:
	case <-ctx.Done():
		m.finish(st, func() {})
		return
	}
	defer func() { <-m.sem }()

	m.mu.Lock()
	domains := slices.Clone(st.domains)
	var leaf *x509.Certificate
	if st.cert != nil {
		leaf = st.cert.Leaf
	}
	m.mu.Unlock()

	octx, cancel := context.WithTimeout(ctx, m.opts.OrderTimeout)
	defer cancel()
	if refreshOnly && leaf != nil {
		renewAt, recheck := r.schedule(octx, leaf)
		m.finish(st, func() { st.renewAt, st.recheck = renewAt, recheck })
		return
	}

	r.stats.orders.Add(1)
	start := time.Now()
	cert, err := r.obtain(octx, domains)
	if err != nil {
		if ctx.Err() != nil {
			m.finish(st, func() {})
			return
		}
		kind := classify(err)
		r.stats.fail(kind)
		var wait time.Duration
		var failures int
		m.finish(st, func() {
			st.failures++
			failures = st.failures
			wait = m.backoff().delay(st.failures, random())
			if d, ok := rateLimit(err); ok && d > wait {
				wait = d
			}
			st.nextTry = time.Now().Add(wait)
			st.lastErr = err
		})
		fields := []zap.Field{zap.String("resolver", r.name), zap.Strings("domains", domains),
			zap.String("kind", kind), zap.Int("attempt", failures), zap.Duration("retryIn", wait.Round(time.Second)), zap.Error(err)}
		if p := problem(err); p != nil {
			fields = append(fields, zap.String("problemType", p.ProblemType), zap.String("problemDetail", p.Detail))
		}
		if leaf != nil {
			fields = append(fields, zap.Time("currentNotAfter", leaf.NotAfter))
		}
		m.logger.Error("obtaining a certificate failed", fields...)
		return
	}
	renewAt, recheck := r.schedule(octx, cert.Leaf)
	if err := r.store(ctx, domains, cert); err != nil {
		r.stats.fail("storage")
		m.logger.Error("the certificate was obtained but could not be stored; it is served but will be ordered again after a restart",
			zap.String("resolver", r.name), zap.Strings("domains", domains), zap.Error(err))
	}
	if leaf != nil {
		r.stats.renewed.Add(1)
	} else {
		r.stats.issued.Add(1)
	}
	m.finish(st, func() {
		st.cert, st.issuedAt = cert, time.Now()
		st.failures, st.nextTry, st.lastErr = 0, time.Time{}, nil
		st.renewAt, st.recheck = renewAt, recheck
		m.rebuildIndexLocked()
	})
	m.logger.Info("certificate obtained", zap.String("resolver", r.name), zap.Strings("domains", domains),
		zap.Bool("renewal", leaf != nil), zap.String("serial", cert.Leaf.SerialNumber.Text(16)),
		zap.Time("notAfter", cert.Leaf.NotAfter), zap.Time("renewAt", renewAt),
		zap.Duration("took", time.Since(start).Round(time.Millisecond)))
}

// finish applies the outcome of work under the lock, marks the state idle,
// wakes whoever waits for it, and wakes the scheduler.
func (m *Manager) finish(st *certState, apply func()) {
	m.mu.Lock()
	apply()
	st.busy = false
	if st.done != nil {
		close(st.done)
		st.done = nil
	}
	m.mu.Unlock()
	m.poke()
}

func (m *Manager) backoff() backoff {
	return backoff{base: m.opts.RetryBase, max: m.opts.RetryMax}
}

// Issues returns the problems of the ACME configuration and of the
// certificates that could not be obtained, for the API and the logs:
// requests naming unknown resolvers, a corrupt storage file, and each
// domain set whose last attempt failed (with the CA's problem detail and
// the time of the next attempt). They are warnings: the routers concerned
// are served with the default certificate, or the previous one.
func (m *Manager) Issues() []config.Issue {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := slices.Clone(m.storageIssues)
	out = append(out, m.configIssues...)
	for _, name := range m.names {
		r := m.resolvers[name]
		for _, key := range sortedStateKeys(r.certs) {
			st := r.certs[key]
			if st.lastErr == nil || !(st.wanted || st.onDemand) {
				continue
			}
			object := ""
			if len(st.routers) > 0 {
				object = st.routers[0]
			}
			serving := "the default certificate is served"
			if st.cert != nil && time.Now().Before(st.cert.Leaf.NotAfter) {
				serving = "the current certificate is served until " + st.cert.Leaf.NotAfter.UTC().Format(time.RFC3339)
			}
			out = append(out, config.Issue{Kind: "acme", Object: object, Key: "certificatesResolvers." + name,
				Value: strings.Join(st.domains, ","),
				Msg: fmt.Sprintf("obtaining a certificate failed %d time(s), next attempt at %s; %s: %v",
					st.failures, st.nextTry.UTC().Format(time.RFC3339), serving, st.lastErr)})
		}
	}
	return out
}

// CertInfo describes a certificate the manager takes care of.
type CertInfo struct {
	Resolver  string    `json:"resolver"`
	Domains   []string  `json:"domains"`
	Routers   []string  `json:"routers,omitempty"`
	Serial    string    `json:"serialNumber,omitempty"`
	NotBefore time.Time `json:"notBefore,omitzero"`
	NotAfter  time.Time `json:"notAfter,omitzero"`
	RenewAt   time.Time `json:"renewAt,omitzero"`
	Wanted    bool      `json:"wanted"`
	Failures  int       `json:"failures,omitempty"`
	NextTry   time.Time `json:"nextAttempt,omitzero"`
	LastError string    `json:"lastError,omitempty"`
}

// Certificates describes every certificate the manager knows, by resolver
// and domains.
func (m *Manager) Certificates() []CertInfo {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []CertInfo
	for _, name := range m.names {
		r := m.resolvers[name]
		for _, key := range sortedStateKeys(r.certs) {
			st := r.certs[key]
			ci := CertInfo{Resolver: name, Domains: slices.Clone(st.domains), Routers: slices.Clone(st.routers),
				Wanted: st.wanted || st.onDemand, Failures: st.failures, NextTry: st.nextTry}
			if st.cert != nil {
				ci.Serial = st.cert.Leaf.SerialNumber.Text(16)
				ci.NotBefore, ci.NotAfter, ci.RenewAt = st.cert.Leaf.NotBefore, st.cert.Leaf.NotAfter, st.renewAt
			}
			if st.lastErr != nil {
				ci.LastError = st.lastErr.Error()
			}
			out = append(out, ci)
		}
	}
	return out
}

// ServeHTTPChallenge answers HTTP-01 validation requests on the entrypoints
// named by httpChallenge.entryPoint: a known token gets its key
// authorization, an unknown one 404, as Traefik does. Other requests are
// left to the caller.
func (m *Manager) ServeHTTPChallenge(entryPoint string, w http.ResponseWriter, r *http.Request) bool {
	if !m.httpEPs[entryPoint] {
		return false
	}
	token, ok := strings.CutPrefix(r.URL.Path, challengePath)
	if !ok {
		return false
	}
	ka, found := m.chal.httpToken(token)
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	if !found {
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte("404 page not found\n"))
		return true
	}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(ka))
	return true
}

// TLSALPNCertificate returns the TLS-ALPN-01 challenge certificate for the
// handshake's server name.
func (m *Manager) TLSALPNCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	if c := m.chal.alpnCert(normalizeName(hello.ServerName)); c != nil {
		return c, nil
	}
	return nil, fmt.Errorf("acme-tls/1: no TLS-ALPN-01 challenge pending for %q", hello.ServerName)
}

// Certificate returns the ACME certificate for a handshake, or nil. With
// on-demand TLS, an unknown name may be obtained during the handshake.
func (m *Manager) Certificate(hello *tls.ClientHelloInfo) *tls.Certificate {
	name := normalizeName(hello.ServerName)
	if name == "" {
		return nil
	}
	if c := m.index.Load().lookup(name, time.Now()); c != nil {
		return c
	}
	if m.onDemand != nil {
		return m.onDemand.certificate(hello, name)
	}
	return nil
}

// certIndex is an immutable snapshot of the served certificates by name,
// swapped whole when a certificate changes so that handshakes read it
// without locks.
type certIndex struct {
	exact    map[string]*tls.Certificate
	wildcard map[string]*tls.Certificate // by parent domain
}

func (x *certIndex) lookup(name string, now time.Time) *tls.Certificate {
	c := x.exact[name]
	if c == nil {
		if i := strings.IndexByte(name, '.'); i > 0 {
			c = x.wildcard[name[i+1:]]
		}
	}
	if c == nil || now.After(c.Leaf.NotAfter) {
		return nil
	}
	return c
}

// rebuildIndexLocked recomputes the served certificates: for each name,
// the valid certificate that expires last. Manager.mu is held.
func (m *Manager) rebuildIndexLocked() {
	x := &certIndex{exact: map[string]*tls.Certificate{}, wildcard: map[string]*tls.Certificate{}}
	now := time.Now()
	put := func(idx map[string]*tls.Certificate, name string, c *tls.Certificate) {
		if old := idx[name]; old == nil || c.Leaf.NotAfter.After(old.Leaf.NotAfter) {
			idx[name] = c
		}
	}
	for _, r := range m.resolvers {
		for _, st := range r.certs {
			c := st.cert
			if c == nil || now.After(c.Leaf.NotAfter) {
				continue
			}
			for _, n := range c.Leaf.DNSNames {
				n = normalizeName(n)
				if parent, ok := strings.CutPrefix(n, "*."); ok {
					put(x.wildcard, parent, c)
				} else {
					put(x.exact, n, c)
				}
			}
		}
	}
	m.index.Store(x)
}

// normalizeName lower-cases a name and drops a trailing dot, like SNI
// lookups in pkg/tlsx.
func normalizeName(n string) string {
	return strings.ToLower(strings.TrimSuffix(strings.TrimSpace(n), "."))
}

// normalizeDomains normalizes a domain set, keeping the main name first
// and dropping duplicates.
func normalizeDomains(in []string) []string {
	var out []string
	for _, d := range in {
		if d = normalizeName(d); d != "" && !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	return out
}

// domainKey identifies a domain set: the main name, then the other names
// sorted, so that the order of SANs does not make a new certificate.
func domainKey(domains []string) string {
	if len(domains) == 0 {
		return ""
	}
	rest := slices.Clone(domains[1:])
	sort.Strings(rest)
	return strings.Join(append([]string{domains[0]}, rest...), ",")
}

func sortedStateKeys(m map[string]*certState) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func known(names []string) string {
	if len(names) == 0 {
		return " (none is configured)"
	}
	return " (configured: " + strings.Join(names, ", ") + ")"
}
