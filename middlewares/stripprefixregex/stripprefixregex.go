// Package stripprefixregex implements Traefik's stripPrefixRegex
// middleware: it removes the path prefix a regular expression matches
// before the request goes on, and tells the backend what was removed in
// X-Forwarded-Prefix, like stripPrefix.
package stripprefixregex

import (
	"net/http"
	"net/url"
	"regexp"

	"github.com/berthproxy/berth/middlewares/stripprefix"
)

type handler struct {
	next http.Handler
	res  []*regexp.Regexp
}

// ServeHTTP strips the prefix matched by the first regex that matches a
// non-empty prefix of the decoded path, as Traefik does. The regex need not
// start with "^": "/foo/[0-9]+" strips "/foo/42" from "/foo/42/bar", but
// not from "/x/foo/42", since only a match at the start of the path is a
// prefix.
//
// When no regex matches anywhere in the path, the request goes on as it
// came, without any allocation.
//
// The caller's request is never modified: the request, its URL and its
// header map are copied (the header map because X-Forwarded-Prefix is added;
// a retrying or mirroring handler further out that re-sends the original
// request would otherwise see the header added twice). Traefik mutates the
// request in place.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	for _, re := range h.res {
		// Leftmost-first matching finds a match at index 0 whenever
		// there is one, so a match elsewhere means none at the start.
		// (Traefik instead checks that the matched text happens to
		// begin the path, which for "/a$" strips "/a" from "/a/a".)
		loc := re.FindStringIndex(r.URL.Path)
		if loc == nil || loc[0] != 0 || loc[1] == 0 {
			continue
		}
		prefix := r.URL.Path[:loc[1]]
		path, rawPath, ok := stripprefix.Strip(r.URL, prefix)
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
		// The decoded prefix is reported, as stripPrefix reports its
		// configured (decoded) prefix and as Traefik does.
		r2.Header.Add(stripprefix.ForwardedPrefixHeader, prefix)
		h.next.ServeHTTP(w, r2)
		return
	}
	h.next.ServeHTTP(w, r)
}

var _ http.Handler = (*handler)(nil)
