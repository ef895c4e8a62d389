// Package addprefix implements Traefik's addPrefix middleware: it puts a
// fixed prefix in front of the request path before the request goes on,
// for backends that expect to be reached under a path the client does not
// use.
package addprefix

import (
	"net/http"
	"net/url"
)

type handler struct {
	next          http.Handler
	prefix        string // decoded, as configured
	escapedPrefix string // prefix in net/url's default path escaping
}

// ServeHTTP prepends the prefix to the path, as is: "/api" and "/users" give
// "/api/users", and "/api/" and "/users" give "/api//users", as in Traefik.
//
// The caller's request is never modified; the request and its URL are
// copied, so that a retrying or mirroring handler further out re-sends the
// original path. The header map is shared, since nothing is added to it.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	u := new(url.URL)
	*u = *r.URL
	path := h.prefix + r.URL.Path
	if r.URL.RawPath == "" {
		// The escaped path is the default escaping of Path, which
		// escapes byte by byte, so the new one is too.
		u.Path, u.RawPath = path, ""
	} else {
		// The client escaped something that need not be (typically
		// "%2F" inside a segment); keep its escaping after the prefix
		// so that the backend can still tell "%2F" from "/". Traefik
		// prepends the decoded prefix to RawPath, which leaves the two
		// forms disagreeing when the prefix has characters to escape.
		setPath(u, path, h.escapedPrefix+r.URL.EscapedPath())
	}
	r2 := new(http.Request)
	*r2 = *r
	r2.URL = u
	r2.RequestURI = u.RequestURI()
	h.next.ServeHTTP(w, r2)
}

// setPath sets u's decoded path and its escaped form raw, which must encode
// path. RawPath is kept only when it differs from the default escaping, as
// net/url does when it parses a URL, and only when net/url will use it: a
// RawPath that is not a valid escaping (a raw space, say) is ignored by
// url.URL.EscapedPath, and keeping it would only mislead later handlers.
func setPath(u *url.URL, path, raw string) {
	u.Path, u.RawPath = path, ""
	if u.EscapedPath() == raw {
		return
	}
	u.RawPath = raw
	if u.EscapedPath() != raw {
		u.RawPath = ""
	}
}

var _ http.Handler = (*handler)(nil)
