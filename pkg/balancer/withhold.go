package balancer

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// StatusSet is a set of HTTP status codes given as ranges ("500-599",
// "503"), as Traefik writes them.
type StatusSet [][2]int

// ParseStatusSet parses status ranges.
func ParseStatusSet(specs []string) (StatusSet, error) {
	var out StatusSet
	for _, spec := range specs {
		for _, part := range strings.Split(spec, ",") {
			part = strings.TrimSpace(part)
			if part == "" {
				continue
			}
			lo, hi, isRange := strings.Cut(part, "-")
			a, err1 := strconv.Atoi(strings.TrimSpace(lo))
			b := a
			var err2 error
			if isRange {
				b, err2 = strconv.Atoi(strings.TrimSpace(hi))
			}
			if err1 != nil || err2 != nil || a < 100 || b > 599 || a > b {
				return nil, fmt.Errorf("status %q: want a code such as 503 or a range such as 500-599", part)
			}
			out = append(out, [2]int{a, b})
		}
	}
	return out, nil
}

// Contains reports whether code is in the set.
func (s StatusSet) Contains(code int) bool {
	for _, r := range s {
		if code >= r[0] && code <= r[1] {
			return true
		}
	}
	return false
}

// Withhold is a ResponseWriter for one attempt of a request that may be
// sent again (retry, failover). A response whose status is in Statuses is
// withheld: its headers and body never reach the client, so the caller can
// try elsewhere. Any other response goes through as it is produced (with
// streaming flushes), so nothing is buffered and a long or endless response
// is not held back. Forwarding failures reported through
// proxy.UpstreamErrorHandler are taken over when catch, if not nil, accepts
// them.
//
// Until the status is known, headers go into a private map, which starts as
// a copy of the client writer's, so that a withheld response leaves no
// trace. 1xx interim responses of a withheld attempt are dropped.
type Withhold struct {
	w        http.ResponseWriter
	header   http.Header
	statuses StatusSet
	catch    func(error) bool
	decided  bool // the status is known
	withheld bool
	err      error
}

// NewWithhold returns a withholding writer around w.
func NewWithhold(w http.ResponseWriter, statuses StatusSet, catch func(error) bool) *Withhold {
	return &Withhold{w: w, header: w.Header().Clone(), statuses: statuses, catch: catch}
}

// Caught reports whether the attempt produced nothing for the client: its
// response was withheld or its failure taken over.
func (h *Withhold) Caught() bool { return h.withheld || (h.err != nil && !h.decided) }

// Err is the forwarding error that was taken over, if any.
func (h *Withhold) Err() error { return h.err }

// UpstreamError takes over a forwarding failure that catch accepts.
func (h *Withhold) UpstreamError(err error) bool {
	if h.catch == nil || h.decided || !h.catch(err) {
		return false
	}
	h.err = err
	return true
}

// Header returns the attempt's header map.
func (h *Withhold) Header() http.Header {
	if h.decided && !h.withheld {
		return h.w.Header()
	}
	return h.header
}

// WriteHeader decides: a status in the set is withheld; any other is sent
// with the attempt's headers.
func (h *Withhold) WriteHeader(code int) {
	if h.decided {
		if !h.withheld {
			h.w.WriteHeader(code)
		}
		return
	}
	if code < 200 {
		return
	}
	h.decided = true
	if h.statuses.Contains(code) {
		h.withheld = true
		return
	}
	dst := h.w.Header()
	clear(dst)
	for k, v := range h.header {
		dst[k] = v
	}
	h.w.WriteHeader(code)
}

// Write sends body bytes, or drops them for a withheld response.
func (h *Withhold) Write(p []byte) (int, error) {
	if !h.decided {
		h.WriteHeader(http.StatusOK)
	}
	if h.withheld {
		return len(p), nil
	}
	return h.w.Write(p)
}

// Flush passes flushes through once the response is being sent.
func (h *Withhold) Flush() { _ = h.FlushError() }

// FlushError flushes the client writer, if the response is going to it.
func (h *Withhold) FlushError() error {
	if !h.decided || h.withheld {
		return nil
	}
	switch f := h.w.(type) {
	case interface{ FlushError() error }:
		return f.FlushError()
	case http.Flusher:
		f.Flush()
		return nil
	}
	return http.NewResponseController(h.w).Flush()
}

// Unwrap gives http.ResponseController the client writer.
func (h *Withhold) Unwrap() http.ResponseWriter { return h.w }

// Replayable reports whether r may be sent a second time after a response
// was seen: an idempotent method, no body, and not a protocol upgrade.
func Replayable(r *http.Request) bool {
	if !noBody(r) || len(r.Header["Upgrade"]) > 0 {
		return false
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace, http.MethodPut, http.MethodDelete:
		return true
	}
	return len(r.Header["Idempotency-Key"]) > 0 || len(r.Header["X-Idempotency-Key"]) > 0
}

var (
	_ http.ResponseWriter = (*Withhold)(nil)
	_ http.Flusher        = (*Withhold)(nil)
)
