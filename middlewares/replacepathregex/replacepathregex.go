// Package replacepathregex implements Traefik's replacePathRegex
// middleware: it rewrites the request path with a regular expression and
// tells the backend what the path was in X-Replaced-Path.
package replacepathregex

import (
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/berthproxy/berth/middlewares/replacepath"
)

type handler struct {
	next        http.Handler
	re          *regexp.Regexp
	replacement string
	warn        func(msg string)
}

// ServeHTTP rewrites the path when the regex matches it, as Traefik does:
// the regex is matched against the escaped path, every match is replaced,
// and the result is read as an escaped path, so that a replacement can
// produce "%2F". X-Replaced-Path is added whenever the regex matches, even
// if the replacement leaves the path as it was, since that is what Traefik
// does and what backends written for it may count on.
//
// When the regex does not match, the request goes on as it came, without
// any allocation for paths that need no escaping.
//
// The caller's request is never modified: the request, its URL and its
// header map are copied (the header map because X-Replaced-Path is added; a
// retrying or mirroring handler further out that re-sends the original
// request would otherwise see the header added twice). Traefik mutates the
// request in place.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	current := escapedPath(r.URL)
	if !h.re.MatchString(current) {
		h.next.ServeHTTP(w, r)
		return
	}
	// Traefik leaves a result without a leading "/" as it is, which
	// makes a request target no server accepts; "^/api/(.*)" replaced
	// by "$1" is far more likely meant as "/$1".
	raw := ensureSlash(h.re.ReplaceAllString(current, h.replacement))
	path, err := url.PathUnescape(raw)
	if err != nil {
		// Only the replacement can introduce a bad escape (the current
		// path came from the client's valid one), so this is a
		// configuration error: 500, as in Traefik.
		h.warn("rewritten path " + strconv.Quote(raw) + " is not a valid escaped path: " + err.Error())
		http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
		return
	}
	u := new(url.URL)
	*u = *r.URL
	setPath(u, path, raw)
	r2 := new(http.Request)
	*r2 = *r
	r2.URL = u
	r2.RequestURI = u.RequestURI()
	r2.Header = r.Header.Clone()
	if r2.Header == nil {
		r2.Header = make(http.Header)
	}
	r2.Header.Add(replacepath.ReplacedPathHeader, current)
	h.next.ServeHTTP(w, r2)
}

// escapedPath is the path as Traefik matches it: RawPath when set (the
// client's own escaping), else the default escaping of Path, which costs
// no allocation when nothing needs escaping.
func escapedPath(u *url.URL) string {
	if u.RawPath != "" {
		return u.RawPath
	}
	return u.EscapedPath()
}

// ensureSlash makes p an absolute path.
func ensureSlash(p string) string {
	if strings.HasPrefix(p, "/") {
		return p
	}
	return "/" + p
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
