// Package redirectregex implements Traefik's redirectRegex middleware: it
// redirects requests whose URL matches a regular expression to the URL the
// replacement makes of it.
package redirectregex

import (
	"bytes"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"sync"

	"github.com/berthproxy/berth/middlewares/redirectscheme"
)

type handler struct {
	next        http.Handler
	re          *regexp.Regexp
	replacement []byte
	permanent   bool
	warn        func(msg string)
}

// bufPool holds the buffers the request URL is written into for matching,
// so that requests that are not redirected cost no allocation.
var bufPool = sync.Pool{New: func() any {
	b := make([]byte, 0, 256)
	return &b
}}

// maxPooledBuf keeps the odd huge URL from pinning its buffer in the pool.
const maxPooledBuf = 16 << 10

// ServeHTTP redirects when the regex matches the request URL and the
// replacement changes it. A match that leaves the URL as it was passes the
// request on, as in Traefik, since redirecting a client to the URL it asked
// for would loop; no match passes it on too.
//
// The caller's request is never modified: it is either answered here or
// passed on as it came.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	bp := bufPool.Get().(*[]byte)
	old := appendURL((*bp)[:0], r)
	if !h.re.Match(old) {
		putBuf(bp, old)
		h.next.ServeHTTP(w, r)
		return
	}
	// ReplaceAll returns a new slice, so old can go back to the pool
	// once compared.
	rewritten := h.re.ReplaceAll(old, h.replacement)
	same := bytes.Equal(rewritten, old)
	putBuf(bp, old)
	if same {
		h.next.ServeHTTP(w, r)
		return
	}

	// Parsing and re-serialising escapes what the replacement left
	// unescaped (a space becomes "%20"), as Traefik does.
	loc, err := url.Parse(string(rewritten))
	if err != nil {
		// Only the replacement can make the URL unparseable (the
		// request's own URL parsed), so this is a configuration error:
		// 500 rather than Traefik's 502, since no backend is involved.
		h.warn("rewritten URL " + strconv.Quote(string(rewritten)) + " does not parse: " + err.Error())
		http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
		return
	}

	// 301 and 302 let clients turn a POST into a GET; 307 and 308 keep
	// the method and body, so they are used for anything but GET and
	// HEAD, which have no body to lose. Traefik uses 307/308 for HEAD
	// too; berth answers HEAD as it answers GET, as redirectScheme does.
	status := http.StatusFound
	switch {
	case h.permanent && isGetOrHead(r.Method):
		status = http.StatusMovedPermanently
	case h.permanent:
		status = http.StatusPermanentRedirect
	case !isGetOrHead(r.Method):
		status = http.StatusTemporaryRedirect
	}
	w.Header().Set("Location", loc.String())
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(http.StatusText(status) + "\n"))
}

func putBuf(bp *[]byte, b []byte) {
	if cap(b) > maxPooledBuf {
		return
	}
	*bp = b
	bufPool.Put(bp)
}

func isGetOrHead(m string) bool { return m == http.MethodGet || m == http.MethodHead }

// appendURL writes the URL the regex is matched against:
// scheme "://" host [":" port] path ["?" query], as Traefik builds it.
//
// The path is RawPath when set, which is the client's own escaping, else the
// default escaping of Path, which is then what the client sent; Traefik
// uses the raw request target, which comes to the same. It is read from URL
// rather than RequestURI because URL is what the proxy forwards, so a
// rewrite by an earlier middleware is seen here as the backend would see it. The host keeps the port the client gave in
// Host, and is not lower-cased, again as in Traefik.
func appendURL(b []byte, r *http.Request) []byte {
	// The scheme is what the client used, as redirectScheme sees it: TLS,
	// or a trusted X-Forwarded-Proto. Traefik's redirectRegex looks at TLS
	// only, so behind a TLS-terminating load balancer a "^http://" rule
	// redirects forever there.
	b = append(b, redirectscheme.RequestScheme(r)...)
	b = append(b, "://"...)
	host := r.Host
	if host == "" {
		host = r.URL.Host
	}
	b = append(b, host...)
	path := r.URL.RawPath
	if path == "" {
		path = r.URL.EscapedPath()
	}
	if path == "" {
		path = "/"
	}
	b = append(b, path...)
	if r.URL.ForceQuery || r.URL.RawQuery != "" {
		b = append(b, '?')
		b = append(b, r.URL.RawQuery...)
	}
	return b
}

var _ http.Handler = (*handler)(nil)
