// Package inflightreq implements Traefik's inFlightReq middleware: at most
// amount requests from one source (by default the client IP, see
// sourceCriterion) are served at a time; a request beyond that is answered
// 429 Too Many Requests at once, not queued.
//
// The counters outlive a routing-table swap (see middlewares/internal/
// statepool): requests still running on the old table keep counting
// against the new one, so a reload cannot let a source double its share.
// They are also shared by every router that uses the middleware, unlike
// Traefik's, which counts per router.
package inflightreq

import (
	"net/http"
	"sync"

	"github.com/berthproxy/berth/pkg/ipstrategy"
)

type handler struct {
	next     http.Handler
	source   ipstrategy.Extractor
	amount   int64
	counters *counters
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	key := h.source(r)
	if !h.counters.acquire(key, h.amount) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = w.Write([]byte(http.StatusText(http.StatusTooManyRequests)))
		return
	}
	// Deferred so that the slot is given back even when next panics, as
	// the proxy does with http.ErrAbortHandler when a backend breaks off
	// a response: a lost release would shrink the source's share for
	// good.
	defer h.counters.release(key)
	h.next.ServeHTTP(w, r)
}

// counters counts requests in flight per source. A source's entry is
// deleted when its count drops to zero, so the map holds only the sources
// with a request in flight: its size is bounded by the number of requests
// being served, however many sources come and go.
type counters struct {
	mu sync.Mutex
	n  map[string]int64
}

func newCounters() *counters { return &counters{n: map[string]int64{}} }

// acquire takes a slot for key if fewer than max are taken.
func (c *counters) acquire(key string, max int64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n[key] >= max {
		return false
	}
	c.n[key]++
	return true
}

// release gives back a slot taken by acquire.
func (c *counters) release(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if n := c.n[key]; n > 1 {
		c.n[key] = n - 1
	} else {
		delete(c.n, key)
	}
}

// inFlight returns the count for key; tests use it.
func (c *counters) inFlight(key string) int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[key]
}

// sources returns how many sources have a request in flight; tests use it.
func (c *counters) sources() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.n)
}

var _ http.Handler = (*handler)(nil)
