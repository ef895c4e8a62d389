// Package ipallowlist implements Traefik's ipAllowList middleware, and its
// Traefik v2 name ipWhiteList: a request whose client IP is not in
// sourceRange is refused with rejectStatusCode (403 by default).
//
// The client IP is found by pkg/ipstrategy: RemoteAddr by default (berth's
// entrypoint has already applied the PROXY protocol and the trusted
// forwarding-headers rules), or an entry of X-Forwarded-For chosen by
// ipStrategy. A request whose client IP cannot be found (X-Forwarded-For
// too short for depth, say) is refused, as in Traefik.
package ipallowlist

import (
	"net/http"

	"github.com/berthproxy/berth/pkg/ipstrategy"
)

type handler struct {
	next     http.Handler
	allowed  *ipstrategy.Ranges
	strategy *ipstrategy.Strategy
	status   int
	body     []byte // the status text, as Traefik writes it
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if ip, ok := h.strategy.ClientIP(r); ok && h.allowed.Contains(ip) {
		h.next.ServeHTTP(w, r)
		return
	}
	// Nothing is logged here: a refused request shows in the access log
	// with its status, and a log line per refusal would let any client
	// flood the logs.
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(h.status)
	if bodyAllowed(h.status) {
		_, _ = w.Write(h.body)
	}
}

// bodyAllowed reports whether a response with status may have a body.
func bodyAllowed(status int) bool {
	return status != http.StatusNoContent && status != http.StatusNotModified
}

var _ http.Handler = (*handler)(nil)
