// Package retry implements Traefik's retry middleware: a request whose
// server could not be reached is sent again, up to attempts times, with an
// exponential backoff starting at initialInterval. berth adds status: an
// idempotent request without a body is also tried again when the answer has
// one of these statuses.
//
// Nothing is buffered. A request is retried only when nothing of it has to
// be kept (no body), and a response only when nothing of it reached the
// client: an attempt's response is withheld if, and only if, its status is
// retryable; any other response streams to the client as it arrives. The
// last attempt's response always goes to the client.
package retry

import (
	"net/http"
	"time"

	"github.com/berthproxy/berth/pkg/balancer"
	"github.com/berthproxy/berth/pkg/proxy"
	"github.com/berthproxy/berth/pkg/reqinfo"
)

type handler struct {
	next     http.Handler
	attempts int
	interval time.Duration
	codes    balancer.StatusSet
}

// ServeHTTP tries the request up to attempts times.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.attempts <= 1 || !canRetry(r) {
		h.next.ServeHTTP(w, r)
		return
	}
	// An idempotent request may be retried after any failure and on the
	// configured statuses; any other request only when its server could
	// not be connected to, since then nothing of it reached the server.
	var codes balancer.StatusSet
	catch := proxy.IsConnectError
	if balancer.Replayable(r) {
		codes = h.codes
		catch = anyError
	}
	wait := h.interval
	for attempt := 1; ; attempt++ {
		if attempt == h.attempts {
			h.next.ServeHTTP(w, r)
			return
		}
		ww := balancer.NewWithhold(w, codes, catch)
		h.next.ServeHTTP(ww, r)
		if !ww.Caught() {
			return
		}
		if rec := reqinfo.From(w); rec != nil {
			rec.RetryAttempts++
		}
		if wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-r.Context().Done():
				t.Stop()
				// The client is gone; the last answer is lost anyway.
				w.WriteHeader(499)
				return
			case <-t.C:
			}
			wait *= 2
		}
	}
}

func anyError(error) bool { return true }

// canRetry reports a request that can be sent again as it is: no body to
// replay and not a protocol upgrade.
func canRetry(r *http.Request) bool {
	return r.ContentLength == 0 && (r.Body == nil || r.Body == http.NoBody) && len(r.Header["Upgrade"]) == 0
}
