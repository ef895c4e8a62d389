// Package replacepath implements Traefik's replacePath middleware: it
// replaces the whole request path with a fixed one and tells the backend
// what the path was in X-Replaced-Path.
package replacepath

import (
	"net/http"
	"net/url"
)

// ReplacedPathHeader carries the original, escaped path to the backend, so
// that it can still tell which URL the client asked for.
const ReplacedPathHeader = "X-Replaced-Path"

type handler struct {
	next    http.Handler
	path    string // decoded
	rawPath string // escaped, "" when it is the default escaping of path
}

// ServeHTTP replaces the path and keeps the query.
//
// The caller's request is never modified: the request, its URL and its
// header map are copied (the header map because X-Replaced-Path is added; a
// retrying or mirroring handler further out that re-sends the original
// request would otherwise see the header added twice). Traefik mutates the
// request in place.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	u := new(url.URL)
	*u = *r.URL
	u.Path, u.RawPath = h.path, h.rawPath
	r2 := new(http.Request)
	*r2 = *r
	r2.URL = u
	r2.RequestURI = u.RequestURI()
	r2.Header = r.Header.Clone()
	if r2.Header == nil {
		r2.Header = make(http.Header)
	}
	// Add rather than Set, as Traefik does, so that a second replacement
	// further in keeps the first original path as the first value.
	r2.Header.Add(ReplacedPathHeader, escapedPath(r.URL))
	h.next.ServeHTTP(w, r2)
}

// escapedPath is the path as Traefik reports it in X-Replaced-Path: RawPath
// when set (the client's own escaping), else the default escaping of Path.
// It differs from url.URL.EscapedPath only for a RawPath with characters
// net/url would have escaped, which the client did send that way.
func escapedPath(u *url.URL) string {
	if u.RawPath != "" {
		return u.RawPath
	}
	return u.EscapedPath()
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
