// Package headers implements Traefik's headers middleware: custom request and
// response headers, CORS (including answering preflight requests), and the
// security headers and host checks of the unrolled/secure library that
// Traefik uses (Strict-Transport-Security, X-Frame-Options, CSP, ...).
//
// The order of operations follows Traefik's, with one exception: the
// allowedHosts check runs first, so that a request for a host that is not
// allowed gets 400 even when it is a CORS preflight. Then a preflight is
// answered, then the request headers are changed and the request goes on.
// On the way back, security headers are set first, then custom response
// headers (so that they can override or remove a security header), then the
// CORS headers.
package headers

import (
	"bufio"
	"net"
	"net/http"
	"regexp"
	"strings"
)

type kv struct{ k, v string }

type handler struct {
	next http.Handler

	// Request side.
	modifiesRequest   bool
	reqSet            []kv
	reqDel            []string
	reqHost           string
	allowedHosts      []string
	hostsProxyHeaders []string
	sslProxyHeaders   []kv

	// Response side.
	staticResponse bool // something is added to every response
	secure         []kv
	sts            string // Strict-Transport-Security value, "" if off
	forceSTS       bool
	publicKey      string // Public-Key-Pins value, "" if off
	respSet        []kv
	respDel        []string

	// CORS.
	cors             bool
	anyOrigin        bool
	origins          []string
	originRegexps    []*regexp.Regexp
	allowCredentials bool
	exposeHeaders    string
	addVary          bool
	preflight        []kv // headers of a preflight answer, but the origin
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.allowedHosts != nil && !h.hostAllowed(r) {
		http.Error(w, "Bad Host", http.StatusBadRequest)
		return
	}
	if h.cors && r.Method == http.MethodOptions &&
		r.Header.Get("Origin") != "" && r.Header.Get("Access-Control-Request-Method") != "" {
		h.answerPreflight(w, r)
		return
	}
	if h.modifiesRequest {
		r = h.modifyRequest(r)
	}

	// Decide now what the response needs, so that requests with nothing
	// to add to the response pass the ResponseWriter through untouched.
	ssl := (h.sts != "" || h.publicKey != "") && h.isSSL(r)
	sts := h.sts != "" && (ssl || h.forceSTS)
	origin := ""
	if h.cors {
		origin = h.allowedOrigin(r.Header.Get("Origin"))
	}
	if !h.staticResponse && !sts && !(ssl && h.publicKey != "") && origin == "" {
		h.next.ServeHTTP(w, r)
		return
	}
	rw := &responseWriter{rw: w, h: h, ssl: ssl, sts: sts, origin: origin}
	h.next.ServeHTTP(rw, r)
	// A handler that writes nothing gets an implicit 200 from the server
	// after it returns, with the header map as it is then.
	rw.apply()
}

// hostAllowed compares the request's host, or the first host proxy header
// present, with allowedHosts case-insensitively. A host that carries a port
// is also allowed when its name alone is listed: the check protects against
// requests for foreign names (DNS rebinding), which the port does not change.
func (h *handler) hostAllowed(r *http.Request) bool {
	host := r.Host
	for _, name := range h.hostsProxyHeaders {
		if v := r.Header.Get(name); v != "" {
			host = v
			break
		}
	}
	name := host
	if n, _, err := net.SplitHostPort(host); err == nil {
		name = n
	}
	for _, a := range h.allowedHosts {
		if strings.EqualFold(a, host) || strings.EqualFold(a, name) {
			return true
		}
	}
	return false
}

// isSSL reports whether the client used HTTPS: the connection is TLS or an
// sslProxyHeaders header has its value. The request URL's scheme is not
// trusted, unlike in unrolled/secure, since a client can send an
// absolute-form request line with "https://" over plain HTTP.
func (h *handler) isSSL(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	for _, p := range h.sslProxyHeaders {
		if strings.EqualFold(r.Header.Get(p.k), p.v) {
			return true
		}
	}
	return false
}

// allowedOrigin returns the Access-Control-Allow-Origin value for origin, or
// "" when it is not allowed. "*" in the list allows every origin and is sent
// as is; a listed or regexp-matched origin is echoed back.
func (h *handler) allowedOrigin(origin string) string {
	if h.anyOrigin {
		return "*"
	}
	if origin == "" {
		return ""
	}
	for _, o := range h.origins {
		if o == origin {
			return o
		}
	}
	for _, re := range h.originRegexps {
		if re.MatchString(origin) {
			return origin
		}
	}
	return ""
}

// answerPreflight answers a CORS preflight request itself, with 200, as
// Traefik does: the backend never sees it. The CORS headers are sent only
// when the origin is allowed; without Access-Control-Allow-Origin the
// browser refuses the actual request, so the other headers would be of no
// use to a foreign origin. (Traefik sends them anyway.)
func (h *handler) answerPreflight(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	if origin := h.allowedOrigin(r.Header.Get("Origin")); origin != "" {
		hdr.Set("Access-Control-Allow-Origin", origin)
		for _, p := range h.preflight {
			hdr.Set(p.k, p.v)
		}
	}
	if h.addVary {
		addVaryOrigin(hdr)
	}
	w.WriteHeader(http.StatusOK)
}

// modifyRequest returns a copy of r with the custom request headers applied.
// The header map is cloned rather than changed in place so that the caller's
// request (which a retrying or mirroring handler further out may send again)
// stays as it was.
func (h *handler) modifyRequest(r *http.Request) *http.Request {
	r2 := new(http.Request)
	*r2 = *r
	r2.Header = r.Header.Clone()
	if r2.Header == nil {
		r2.Header = make(http.Header)
	}
	for _, k := range h.reqDel {
		delete(r2.Header, k)
	}
	for _, p := range h.reqSet {
		r2.Header[p.k] = []string{p.v}
	}
	if h.reqHost != "" {
		r2.Host = h.reqHost
	}
	return r2
}

// addVaryOrigin adds "Origin" to Vary unless it is already listed.
func addVaryOrigin(hdr http.Header) {
	for _, v := range hdr.Values("Vary") {
		for tok := range strings.SplitSeq(v, ",") {
			if t := strings.TrimSpace(tok); t == "*" || strings.EqualFold(t, "Origin") {
				return
			}
		}
	}
	hdr.Add("Vary", "Origin")
}

// responseWriter sets the response headers just before the response header
// is sent: on the first final WriteHeader, Write, Flush or Hijack. Setting
// them later would be too late; setting them before calling next would let
// the backend's headers (copied in by the proxy) override them.
type responseWriter struct {
	rw      http.ResponseWriter
	h       *handler
	ssl     bool
	sts     bool
	origin  string
	applied bool
}

func (w *responseWriter) apply() {
	if w.applied {
		return
	}
	w.applied = true
	h, hdr := w.h, w.rw.Header()
	for _, p := range h.secure {
		hdr[p.k] = []string{p.v}
	}
	if w.sts {
		hdr["Strict-Transport-Security"] = []string{h.sts}
	}
	if w.ssl && h.publicKey != "" {
		hdr["Public-Key-Pins"] = []string{h.publicKey}
	}
	for _, k := range h.respDel {
		delete(hdr, k)
	}
	for _, p := range h.respSet {
		hdr[p.k] = []string{p.v}
	}
	if w.origin != "" {
		hdr["Access-Control-Allow-Origin"] = []string{w.origin}
	}
	if h.allowCredentials {
		hdr["Access-Control-Allow-Credentials"] = []string{"true"}
	}
	if h.exposeHeaders != "" {
		hdr["Access-Control-Expose-Headers"] = []string{h.exposeHeaders}
	}
	if h.addVary {
		addVaryOrigin(hdr)
	}
}

// Header returns the underlying header map, so that what next sets is what
// apply later adjusts.
func (w *responseWriter) Header() http.Header { return w.rw.Header() }

// WriteHeader applies the headers before a final status. Informational
// statuses (103 Early Hints) are passed on as they are: the final header
// is still to come. 101 Switching Protocols is final.
func (w *responseWriter) WriteHeader(code int) {
	if code >= 200 || code == http.StatusSwitchingProtocols || code < 100 {
		w.apply()
	}
	w.rw.WriteHeader(code)
}

func (w *responseWriter) Write(b []byte) (int, error) {
	w.apply()
	return w.rw.Write(b)
}

// Flush implements http.Flusher for streaming responses (SSE).
func (w *responseWriter) Flush() { _ = w.FlushError() }

// FlushError is what http.ResponseController.Flush calls; it reports the
// underlying writer's error instead of dropping it.
func (w *responseWriter) FlushError() error {
	w.apply()
	return http.NewResponseController(w.rw).Flush()
}

// Hijack implements http.Hijacker so that WebSocket upgrades pass through.
// The headers are applied first because a proxy that hijacks writes the
// 101 response itself from this header map.
func (w *responseWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	w.apply()
	return http.NewResponseController(w.rw).Hijack()
}

// Unwrap lets http.ResponseController reach the underlying writer for
// deadlines and full duplex.
func (w *responseWriter) Unwrap() http.ResponseWriter { return w.rw }

var (
	_ http.Handler        = (*handler)(nil)
	_ http.ResponseWriter = (*responseWriter)(nil)
	_ http.Flusher        = (*responseWriter)(nil)
	_ http.Hijacker       = (*responseWriter)(nil)
)
