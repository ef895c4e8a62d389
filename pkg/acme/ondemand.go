package acme

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/berthproxy/berth/pkg/config"
)

const (
	// onDemandWait bounds how long a handshake waits for an on-demand
	// certificate; the client gets the default certificate after that.
	onDemandWait = 30 * time.Second
	// askTimeout bounds the ask URL's answer.
	askTimeout = 5 * time.Second
	// deniedTTL is how long a name refused by the ask URL is not asked
	// again, so that a client retrying a handshake does not hammer it.
	deniedTTL = time.Minute
	// maxDenied bounds the memory of refused names.
	maxDenied = 10000
	// defaultOnDemandRate is the default number of on-demand orders per
	// minute.
	defaultOnDemandRate = 10
)

// onDemand obtains certificates during handshakes for names that no router
// asks for, when the ask URL allows them, within a rate limit.
type onDemand struct {
	m    *Manager
	r    *resolver
	ask  string
	rate int
	hc   *http.Client

	mu     sync.Mutex
	tokens float64
	last   time.Time
	refuse map[string]time.Time
	denied atomic.Uint64
	// lastAskLog is when an unreachable ask URL was last logged (Unix ns).
	lastAskLog atomic.Int64
}

func newOnDemand(m *Manager, r *resolver, cfg *config.OnDemand) *onDemand {
	rate := cfg.RateLimit
	if rate <= 0 {
		rate = defaultOnDemandRate
	}
	return &onDemand{m: m, r: r, ask: cfg.Ask, rate: rate, tokens: float64(rate),
		hc: &http.Client{Timeout: askTimeout}, refuse: map[string]time.Time{}}
}

// certificate returns a certificate for name, obtaining it if the ask URL
// allows it; nil when it is refused, rate-limited, fails or takes too long.
func (o *onDemand) certificate(hello *tls.ClientHelloInfo, name string) *tls.Certificate {
	if !validHostname(name) {
		return nil
	}
	m := o.m
	now := time.Now()
	m.mu.Lock()
	ctx := m.runCtx
	st := o.r.certs[name]
	switch {
	case ctx == nil:
		m.mu.Unlock()
		return nil
	case st != nil && st.busy:
		done := st.done
		m.mu.Unlock()
		return o.wait(hello, st, done)
	case st != nil && st.cert != nil && now.Before(st.cert.Leaf.NotAfter):
		c := st.cert
		m.mu.Unlock()
		return c
	case st != nil && now.Before(st.nextTry):
		// It failed recently; the scheduler retries it with backoff.
		m.mu.Unlock()
		return nil
	}
	m.mu.Unlock()

	if o.refused(name, now) {
		return nil
	}
	if !o.allowed(ctx, name) {
		o.refuseFor(name, now)
		o.denied.Add(1)
		return nil
	}
	if !o.take(now) {
		o.denied.Add(1)
		return nil
	}
	m.mu.Lock()
	st = o.r.certs[name]
	if st == nil {
		st = &certState{key: name, domains: []string{name}}
		o.r.certs[name] = st
	}
	st.onDemand = true
	if !st.busy {
		m.startLocked(ctx, o.r, st, false)
	}
	done := st.done
	m.mu.Unlock()
	m.logger.Info("obtaining an on-demand certificate", zap.String("resolver", o.r.name), zap.String("domain", name))
	return o.wait(hello, st, done)
}

// wait waits, bounded, for the work on st to end.
func (o *onDemand) wait(hello *tls.ClientHelloInfo, st *certState, done chan struct{}) *tls.Certificate {
	if done != nil {
		ctx := hello.Context()
		if ctx == nil {
			ctx = context.Background()
		}
		t := time.NewTimer(onDemandWait)
		defer t.Stop()
		select {
		case <-done:
		case <-t.C:
			return nil
		case <-ctx.Done():
			return nil
		}
	}
	o.m.mu.Lock()
	defer o.m.mu.Unlock()
	if c := st.cert; c != nil && time.Now().Before(c.Leaf.NotAfter) {
		return c
	}
	return nil
}

// allowed asks the ask URL whether name may have a certificate: only a 200
// answer allows it.
func (o *onDemand) allowed(ctx context.Context, name string) bool {
	u, err := url.Parse(o.ask)
	if err != nil {
		return false
	}
	q := u.Query()
	q.Set("domain", name)
	u.RawQuery = q.Encode()
	ctx, cancel := context.WithTimeout(ctx, askTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return false
	}
	res, err := o.hc.Do(req)
	if err != nil {
		// Logged at most once a minute: this runs on handshakes.
		if now := time.Now(); o.lastAskLog.Load() < now.Add(-time.Minute).UnixNano() {
			o.lastAskLog.Store(now.UnixNano())
			o.m.logger.Warn("the on-demand ask URL cannot be reached; names are refused",
				zap.String("ask", o.ask), zap.String("domain", name), zap.Error(err))
		}
		return false
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 4096))
	_ = res.Body.Close()
	return res.StatusCode == http.StatusOK
}

// take takes a token from the rate limiter's bucket, refilled at rate per
// minute up to rate.
func (o *onDemand) take(now time.Time) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.last.IsZero() {
		o.tokens = min(float64(o.rate), o.tokens+now.Sub(o.last).Minutes()*float64(o.rate))
	}
	o.last = now
	if o.tokens < 1 {
		return false
	}
	o.tokens--
	return true
}

func (o *onDemand) refused(name string, now time.Time) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	until, ok := o.refuse[name]
	return ok && now.Before(until)
}

func (o *onDemand) refuseFor(name string, now time.Time) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.refuse) >= maxDenied {
		clear(o.refuse)
	}
	o.refuse[name] = now.Add(deniedTTL)
}

// validHostname reports whether name can be in a certificate ordered on
// demand: a DNS name of at least two labels of letters, digits and
// hyphens, not an IP address.
func validHostname(name string) bool {
	if len(name) == 0 || len(name) > 253 || net.ParseIP(name) != nil {
		return false
	}
	labels, n := 1, 0
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c == '.':
			if n == 0 {
				return false
			}
			labels, n = labels+1, 0
			continue
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-':
		default:
			return false
		}
		if n++; n > 63 {
			return false
		}
	}
	return n > 0 && labels >= 2
}
