// Package stripprefix implements Traefik's stripPrefix middleware: it removes
// the first matching prefix from the request path before the request goes on,
// and tells the backend what was removed in X-Forwarded-Prefix.
package stripprefix

import (
	"net/http"
	"net/url"
	"strings"
)

// ForwardedPrefixHeader carries the stripped prefix to the backend so that it
// can build links that work from the client's side.
const ForwardedPrefixHeader = "X-Forwarded-Prefix"

type handler struct {
	next     http.Handler
	prefixes []string
}

// ServeHTTP strips the first prefix that the decoded path starts with.
//
// Matching is plain string prefix matching on the decoded path, as in
// Traefik: the prefix "/api" also matches "/apiv2" (leaving "/v2"). Configure
// "/api/" to match whole segments only.
//
// The caller's request is never modified: the request, its URL and its
// header map are copied (the header map because X-Forwarded-Prefix is added;
// a retrying or mirroring handler further out that re-sends the original
// request would otherwise see the header added twice). Traefik mutates the
// request in place; the copy costs a few small allocations and only happens
// when a prefix matches.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	for _, prefix := range h.prefixes {
		if !strings.HasPrefix(r.URL.Path, prefix) {
			continue
		}
		path, rawPath, ok := Strip(r.URL, prefix)
		if !ok {
			// The escaped form disagrees with the decoded one in a way
			// that cannot be cut consistently; leave the request alone
			// rather than forward a path whose two forms disagree.
			continue
		}
		r2 := new(http.Request)
		*r2 = *r
		u := new(url.URL)
		*u = *r.URL
		u.Path, u.RawPath = path, rawPath
		r2.URL = u
		r2.RequestURI = u.RequestURI()
		r2.Header = r.Header.Clone()
		if r2.Header == nil {
			r2.Header = make(http.Header)
		}
		r2.Header.Add(ForwardedPrefixHeader, prefix)
		h.next.ServeHTTP(w, r2)
		return
	}
	h.next.ServeHTTP(w, r)
}

// Strip removes prefix (which the decoded path starts with) from both forms
// of u's path and returns the new Path and RawPath; stripPrefixRegex uses it
// too.
//
// When RawPath is empty the escaped path is the default escaping of Path,
// which escapes byte by byte, so cutting the decoded path is enough. When
// RawPath is set (the client escaped something that need not be, typically
// "%2F" inside a segment), the cut is made in the escaped path after as many
// decoded bytes as the prefix has, and the new decoded path is derived from
// the new escaped one, so that the two always agree — "/a%2Fb" stripped of
// "/a" gives RawPath "/%2Fb" and Path "//b", not the inconsistent "/b".
func Strip(u *url.URL, prefix string) (path, rawPath string, ok bool) {
	if u.RawPath == "" {
		return ensureSlash(u.Path[len(prefix):]), "", true
	}
	escaped := u.EscapedPath()
	i, n := 0, 0
	for n < len(prefix) && i < len(escaped) {
		if escaped[i] == '%' {
			i += 3
		} else {
			i++
		}
		n++
	}
	if n != len(prefix) || i > len(escaped) {
		return "", "", false
	}
	rawPath = ensureSlash(escaped[i:])
	path, err := url.PathUnescape(rawPath)
	if err != nil {
		return "", "", false
	}
	if (&url.URL{Path: path}).EscapedPath() == rawPath {
		// The default escaping already produces rawPath: keep RawPath
		// empty, as net/url does.
		rawPath = ""
	}
	return path, rawPath, true
}

// ensureSlash makes p an absolute path; stripping "/api" from "/api" leaves
// "", and "/api" from "/apiv2" leaves "v2".
func ensureSlash(p string) string {
	if strings.HasPrefix(p, "/") {
		return p
	}
	return "/" + p
}

var _ http.Handler = (*handler)(nil)
