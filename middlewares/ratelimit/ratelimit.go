// Package ratelimit implements Traefik's rateLimit middleware: a token
// bucket per source (by default the client IP, see sourceCriterion) that
// refills at average requests per period and holds at most burst tokens.
//
// As in Traefik, a request that finds no token is not refused at once if
// one is due very soon (within half the interval between two tokens, and
// at most 500ms): it waits for it, which smooths bursts instead of
// bouncing them. Otherwise it is answered 429 Too Many Requests, with
// Retry-After (whole seconds, rounded up) and Traefik's X-Retry-In.
//
// The buckets outlive a routing-table swap: they are kept in a pool keyed
// by the middleware's name and its options (see middlewares/internal/
// statepool), not in the table, so a reload caused by an unrelated change
// does not hand every client a fresh burst. They are also shared by every
// router that uses the middleware; Traefik's in-memory limiter has a set
// per router, which multiplies the configured rate by the number of
// routers (traefik/traefik#13706).
package ratelimit

import (
	"container/list"
	"context"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/berthproxy/berth/pkg/ipstrategy"
)

type handler struct {
	next     http.Handler
	source   ipstrategy.Extractor
	buckets  *buckets
	maxDelay time.Duration
	// now and wait are time.Now and sleepCtx, replaced by tests so that
	// they control the clock instead of sleeping.
	now  func() time.Time
	wait func(ctx context.Context, d time.Duration) bool
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	now := h.now()
	lim := h.buckets.get(h.source(r), now)
	// burst is at least 1, so a reservation of one token is always OK;
	// its delay says how long until that token exists.
	res := lim.ReserveN(now, 1)
	delay := res.DelayFrom(now)
	if delay > h.maxDelay {
		// Give the token back: a refused request must not use up the
		// budget of the requests that follow it.
		res.CancelAt(now)
		reject(w, delay)
		return
	}
	if delay > 0 && !h.wait(r.Context(), delay) {
		// The client went away while waiting; its token goes back too.
		res.CancelAt(h.now())
		w.WriteHeader(499)
		return
	}
	h.next.ServeHTTP(w, r)
}

func reject(w http.ResponseWriter, delay time.Duration) {
	h := w.Header()
	h.Set("Retry-After", strconv.FormatInt(int64(math.Ceil(delay.Seconds())), 10))
	h.Set("X-Retry-In", delay.String())
	h.Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusTooManyRequests)
	_, _ = w.Write([]byte(http.StatusText(http.StatusTooManyRequests)))
}

// sleepCtx waits for d, or until ctx is done; it reports whether the whole
// wait happened.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// maxDelay is how long a request may wait for its token: half the interval
// between two tokens, at most 500ms, as Traefik does.
func maxDelay(limit rate.Limit) time.Duration {
	const ceiling = 500 * time.Millisecond
	if limit <= 0 {
		return 0
	}
	if d := time.Duration(float64(time.Second) / (2 * float64(limit))); d < ceiling {
		return d
	}
	return ceiling
}

// buckets is one token bucket per source, bounded in number so that a flood
// of distinct sources (spoofed headers, a whole IPv6 prefix) cannot grow
// memory without limit:
//
//   - a bucket unused for idle is dropped. idle is at least the time an
//     empty bucket takes to fill up again, so the dropped bucket was full,
//     exactly like the new one its source will get: dropping it changes
//     nothing but memory;
//   - there are never more than cap buckets: when full, the least
//     recently used one is dropped even if it was not idle. Its source
//     then starts again with a full bucket, which errs on the side of
//     letting a request through rather than refusing a well-behaved
//     client; it only happens under a flood of cap distinct sources.
//
// Entries are kept in least-recently-used order, so both checks look at
// the back of the list only: O(1) per request.
type buckets struct {
	limit rate.Limit
	burst int
	idle  time.Duration
	cap   int

	mu    sync.Mutex
	byKey map[string]*list.Element // of *bucket
	lru   list.List                // most recently used first
}

type bucket struct {
	key  string
	lim  *rate.Limiter
	used time.Time
}

// maxSources bounds the buckets of one middleware, as Traefik does. A
// bucket with an IPv6 key costs about 260 bytes (keys are at most
// ipstrategy.MaxKeyLen), so the bound is about 16 MB per middleware.
const maxSources = 65536

// minIdle keeps a bucket at least this long after its last use, so that a
// client that comes back within a minute does not cost an allocation for a
// fresh one, even when its bucket refills faster than that.
const minIdle = time.Minute

// sweep bounds how many idle buckets one request drops, so that no request
// pays for a long clean-up; every new source drops up to this many, which
// keeps the idle ones from piling up.
const sweep = 16

func newBuckets(limit rate.Limit, burst, capacity int) *buckets {
	// Refilling burst tokens, plus the one a waiting request may have
	// borrowed, takes (burst+1)/limit seconds.
	idle := time.Duration(math.MaxInt64)
	if s := float64(burst+1) / float64(limit); s < float64(math.MaxInt64/int64(time.Second)) {
		idle = max(time.Duration(s*float64(time.Second)), minIdle)
	}
	return &buckets{limit: limit, burst: burst, idle: idle, cap: capacity, byKey: map[string]*list.Element{}}
}

// get returns the bucket of key, making it if needed; now is the time of
// the request.
func (b *buckets) get(key string, now time.Time) *rate.Limiter {
	b.mu.Lock()
	defer b.mu.Unlock()
	if e, ok := b.byKey[key]; ok {
		bk := e.Value.(*bucket)
		if now.After(bk.used) {
			bk.used = now
		}
		b.lru.MoveToFront(e)
		return bk.lim
	}
	for i := 0; i < sweep; i++ {
		e := b.lru.Back()
		if e == nil || now.Sub(e.Value.(*bucket).used) < b.idle {
			break
		}
		b.remove(e)
	}
	for b.lru.Len() >= b.cap {
		b.remove(b.lru.Back())
	}
	bk := &bucket{key: key, lim: rate.NewLimiter(b.limit, b.burst), used: now}
	b.byKey[key] = b.lru.PushFront(bk)
	return bk.lim
}

func (b *buckets) remove(e *list.Element) {
	b.lru.Remove(e)
	delete(b.byKey, e.Value.(*bucket).key)
}

// len returns the number of buckets; tests use it.
func (b *buckets) len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.lru.Len()
}

var _ http.Handler = (*handler)(nil)
