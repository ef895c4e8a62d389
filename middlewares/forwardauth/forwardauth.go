// Package forwardauth implements Traefik's forwardAuth middleware: every
// request is first put to an external auth server, and only a 2xx answer
// lets it through; any other answer is returned to the client as it is.
package forwardauth

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"go.uber.org/zap"

	"github.com/berthproxy/berth/pkg/proxy"
)

// Pre-canonicalised names of the headers sent to the auth server.
const (
	hXFF    = "X-Forwarded-For"
	hXFP    = "X-Forwarded-Proto"
	hXFH    = "X-Forwarded-Host"
	hXFPort = "X-Forwarded-Port"
	hXFURI  = "X-Forwarded-Uri"
	hXFM    = "X-Forwarded-Method"
)

// hopHeaders are not passed between the request and the auth server, nor
// from a refusing auth server to the client: they describe one connection.
// Proxy-Authorization is deliberately absent, as in Traefik: the auth
// server may be the one meant to check it.
var hopHeaders = []string{"Connection", "Proxy-Connection", "Keep-Alive", "Te", "Trailer", "Trailers", "Transfer-Encoding", "Upgrade"}

// drainLimit is how much of a successful auth response's body is read
// before closing it. Reading a small body to its end lets the connection be
// reused; a large one is not worth the time and the connection is dropped.
const drainLimit = 64 << 10

type handler struct {
	next   http.Handler
	log    *zap.Logger
	client *http.Client

	address                string
	trustForwardHeader     bool
	requestHeaders         []string // canonical; nil means all
	responseHeaders        []string // canonical
	responseHeadersRegex   *regexp.Regexp
	cookies                map[string]bool // addAuthCookiesToResponse
	forwardBody            bool
	maxBodySize            int64 // -1: no limit
	preserveLocationHeader bool
	preserveRequestMethod  bool
}

// errBodyTooLarge reports a request body above maxBodySize.
var errBodyTooLarge = errors.New("request body too large")

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	method := http.MethodGet
	if h.preserveRequestMethod {
		method = r.Method
	}

	var body []byte
	if h.forwardBody {
		b, err := h.readBody(r)
		switch {
		case errors.Is(err, errBodyTooLarge):
			// Traefik answers 401: the auth server could not be asked,
			// so the request is not authenticated.
			h.log.Debug("forwardAuth request body above maxBodySize", zap.Int64("maxBodySize", h.maxBodySize))
			w.WriteHeader(http.StatusUnauthorized)
			return
		case err != nil:
			// A client that stops mid-upload is not worth a warning:
			// any client could fill the log that way. Traefik answers
			// 500 here too.
			h.log.Debug("forwardAuth could not read the request body", zap.Error(err))
			status := http.StatusInternalServerError
			if r.Context().Err() != nil {
				status = proxy.StatusClientClosedRequest
			}
			w.WriteHeader(status)
			return
		}
		body = b
	}

	authReq, err := http.NewRequestWithContext(r.Context(), method, h.address, nil)
	if err != nil {
		// The address was checked at build time; only an odd method
		// kept by preserveRequestMethod can get here.
		h.fail(w, r, "forwardAuth could not make the auth request", err)
		return
	}
	if body != nil {
		authReq.Body = io.NopCloser(bytes.NewReader(body))
		authReq.ContentLength = int64(len(body))
		authReq.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	}
	h.writeAuthHeaders(r, authReq)

	resp, err := h.client.Do(authReq)
	if err != nil {
		h.fail(w, r, "forwardAuth could not reach the auth server", err)
		return
	}
	defer resp.Body.Close()

	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		h.refuse(w, r, resp)
		return
	}
	// The answer is in the status and headers; its body is of no use.
	_, _ = io.CopyN(io.Discard, resp.Body, drainLimit)

	// Work on a copy: the caller's request keeps its headers and body.
	r2 := new(http.Request)
	*r2 = *r
	r2.Header = r.Header.Clone()
	if body != nil {
		r2.Body = io.NopCloser(bytes.NewReader(body))
		r2.ContentLength = int64(len(body))
		r2.TransferEncoding = nil
		r2.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	}
	h.copyResponseHeaders(r2.Header, resp.Header)

	if cookies := h.authCookies(resp.Header); len(cookies) > 0 {
		w = &cookieWriter{rw: w, names: h.cookies, cookies: cookies}
	}
	h.next.ServeHTTP(w, r2)
}

// readBody reads the request body, within maxBodySize. It returns nil for a
// request without a body.
func (h *handler) readBody(r *http.Request) ([]byte, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	if h.maxBodySize < 0 {
		b, err := io.ReadAll(r.Body)
		if len(b) == 0 {
			b = nil
		}
		return b, err
	}
	// A declared length says it all without reading a byte.
	if r.ContentLength > h.maxBodySize {
		return nil, errBodyTooLarge
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, h.maxBodySize+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > h.maxBodySize {
		return nil, errBodyTooLarge
	}
	if len(b) == 0 {
		return nil, nil
	}
	return b, nil
}

// writeAuthHeaders sets the auth request's headers from r, as Traefik does:
// r's headers (or only authRequestHeaders) without hop-by-hop ones, then
// the X-Forwarded-* describing r. With trustForwardHeader the values r
// already carries are kept; without, they are replaced by what berth
// computes, so a client cannot tell the auth server it asked for another
// host or path than it did.
func (h *handler) writeAuthHeaders(r, authReq *http.Request) {
	hdr := r.Header.Clone()
	removeHopHeaders(hdr)
	if h.requestHeaders != nil {
		filtered := make(http.Header, len(h.requestHeaders)+6)
		for _, k := range h.requestHeaders {
			if v := hdr[k]; len(v) > 0 {
				filtered[k] = v
			}
		}
		hdr = filtered
	}

	if ip, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		if prior := r.Header[hXFF]; h.trustForwardHeader && len(prior) > 0 {
			ip = strings.Join(prior, ", ") + ", " + ip
		}
		hdr[hXFF] = []string{ip}
	} else {
		// Without a client address, an XFF copied from the request
		// would pass for berth's own statement.
		delete(hdr, hXFF)
	}

	h.setForwarded(hdr, r, hXFM, r.Method)
	proto := "http"
	if r.TLS != nil {
		proto = "https"
	}
	h.setForwarded(hdr, r, hXFP, proto)
	if v := r.Header.Get(hXFPort); v != "" && h.trustForwardHeader {
		hdr[hXFPort] = []string{v}
	}
	h.setForwarded(hdr, r, hXFH, r.Host)
	h.setForwarded(hdr, r, hXFURI, r.URL.RequestURI())
	authReq.Header = hdr
}

// setForwarded sets hdr[key] to r's own value when trusted, else to
// computed; an empty result removes the header.
func (h *handler) setForwarded(hdr http.Header, r *http.Request, key, computed string) {
	v := computed
	if h.trustForwardHeader {
		if prior := r.Header.Get(key); prior != "" {
			v = prior
		}
	}
	if v == "" {
		delete(hdr, key)
		return
	}
	hdr[key] = []string{v}
}

// copyResponseHeaders puts the auth server's authResponseHeaders (and those
// matching authResponseHeadersRegex) on the forwarded request. The client's
// headers of those names are removed first, whether or not the auth server
// sent them: otherwise a client could claim to be any user whenever the
// auth server leaves a header out.
func (h *handler) copyResponseHeaders(req, auth http.Header) {
	if len(h.responseHeaders) == 0 && h.responseHeadersRegex == nil {
		return
	}
	for k := range req {
		if h.isAuthHeader(k) {
			delete(req, k)
			continue
		}
		// Some backends (CGI, PHP, nginx's underscores_in_headers)
		// read X_Forwarded_User as X-Forwarded-User. Traefik lets such
		// a spelling through; berth removes it so that it cannot stand
		// in for a header the auth server owns.
		if strings.IndexByte(k, '_') >= 0 && h.isAuthHeader(http.CanonicalHeaderKey(strings.ReplaceAll(k, "_", "-"))) {
			delete(req, k)
		}
	}
	for _, k := range h.responseHeaders {
		if v := auth[k]; len(v) > 0 {
			req[k] = append([]string(nil), v...)
		}
	}
	if h.responseHeadersRegex != nil {
		for k, v := range auth {
			if h.responseHeadersRegex.MatchString(k) {
				req[k] = append([]string(nil), v...)
			}
		}
	}
}

// isAuthHeader reports whether the canonical key k is one the auth server
// owns.
func (h *handler) isAuthHeader(k string) bool {
	for _, n := range h.responseHeaders {
		if n == k {
			return true
		}
	}
	return h.responseHeadersRegex != nil && h.responseHeadersRegex.MatchString(k)
}

// authCookies returns the Set-Cookie lines of the auth response that set a
// cookie named in addAuthCookiesToResponse, as they were sent.
func (h *handler) authCookies(auth http.Header) []string {
	if len(h.cookies) == 0 {
		return nil
	}
	var out []string
	for _, line := range auth["Set-Cookie"] {
		if h.cookies[cookieName(line)] {
			out = append(out, line)
		}
	}
	return out
}

// cookieName is the name a Set-Cookie line sets.
func cookieName(line string) string {
	name, _, _ := strings.Cut(line, "=")
	return strings.TrimSpace(name)
}

// refuse returns a non-2xx auth response to the client: its status, its
// headers but the hop-by-hop ones, and its body, streamed so that a large
// login page costs no memory. The client timeout bounds how long that can
// take.
func (h *handler) refuse(w http.ResponseWriter, r *http.Request, resp *http.Response) {
	if resp.StatusCode < 200 {
		// An informational status is not an answer; passing it on
		// would leave the client waiting for one.
		h.fail(w, r, "forwardAuth auth server answered with an informational status", errors.New(resp.Status))
		return
	}
	var location string
	if resp.Header.Get("Location") != "" {
		loc, err := h.location(resp)
		if err != nil {
			h.fail(w, r, "forwardAuth auth server sent an invalid Location", err)
			return
		}
		location = loc
	}
	dst := w.Header()
	for k, v := range resp.Header {
		dst[k] = append(dst[k], v...)
	}
	removeHopHeaders(dst)
	if location != "" {
		dst["Location"] = []string{location}
	}
	w.WriteHeader(resp.StatusCode)
	if _, err := io.Copy(w, resp.Body); err != nil {
		h.log.Debug("forwardAuth could not pass on the auth server's response body", zap.Error(err))
	}
}

// location is the Location to send the client: made absolute against the
// auth address, as Traefik does, unless preserveLocationHeader.
func (h *handler) location(resp *http.Response) (string, error) {
	if h.preserveLocationHeader {
		lv := resp.Header.Get("Location")
		if _, err := url.Parse(lv); err != nil {
			return "", err
		}
		return lv, nil
	}
	u, err := resp.Location()
	if err != nil {
		return "", err
	}
	return u.String(), nil
}

// fail answers 500 when the auth server could not give an answer, as
// Traefik does (499 if the client went away first, which is no fault of
// the auth server and worth no warning).
func (h *handler) fail(w http.ResponseWriter, r *http.Request, msg string, err error) {
	if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
		h.log.Debug(msg, zap.String("address", h.address), zap.Error(err))
		w.WriteHeader(proxy.StatusClientClosedRequest)
		return
	}
	h.log.Warn(msg, zap.String("address", h.address), zap.Error(err))
	w.WriteHeader(http.StatusInternalServerError)
}

// removeHopHeaders deletes the hop-by-hop headers and those the Connection
// header names.
func removeHopHeaders(h http.Header) {
	for _, v := range h["Connection"] {
		for _, tok := range strings.Split(v, ",") {
			if tok = strings.TrimSpace(tok); tok != "" {
				h.Del(tok)
			}
		}
	}
	for _, k := range hopHeaders {
		delete(h, k)
	}
}

// cookieWriter adds the auth server's cookies to the backend's response,
// just before its header is sent, replacing the backend's cookies of the
// same names: the auth server owns those.
type cookieWriter struct {
	rw      http.ResponseWriter
	names   map[string]bool
	cookies []string // Set-Cookie lines
	applied bool
}

func (w *cookieWriter) apply() {
	if w.applied {
		return
	}
	w.applied = true
	hdr := w.rw.Header()
	var kept []string
	for _, line := range hdr["Set-Cookie"] {
		if !w.names[cookieName(line)] {
			kept = append(kept, line)
		}
	}
	hdr["Set-Cookie"] = append(kept, w.cookies...)
}

// Header returns the underlying header map, so that what next sets is what
// apply later adjusts.
func (w *cookieWriter) Header() http.Header { return w.rw.Header() }

// WriteHeader applies the cookies before a final status; informational
// ones (103 Early Hints) pass as they are, the final header is to come.
func (w *cookieWriter) WriteHeader(code int) {
	if code >= 200 || code == http.StatusSwitchingProtocols || code < 100 {
		w.apply()
	}
	w.rw.WriteHeader(code)
}

func (w *cookieWriter) Write(b []byte) (int, error) {
	w.apply()
	return w.rw.Write(b)
}

// Flush implements http.Flusher for streaming responses (SSE).
func (w *cookieWriter) Flush() { _ = w.FlushError() }

// FlushError is what http.ResponseController.Flush calls.
func (w *cookieWriter) FlushError() error {
	w.apply()
	return http.NewResponseController(w.rw).Flush()
}

// Hijack implements http.Hijacker so that WebSocket upgrades pass through;
// a proxy that hijacks writes the 101 response from this header map.
func (w *cookieWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	w.apply()
	return http.NewResponseController(w.rw).Hijack()
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *cookieWriter) Unwrap() http.ResponseWriter { return w.rw }

var (
	_ http.Handler        = (*handler)(nil)
	_ http.ResponseWriter = (*cookieWriter)(nil)
	_ http.Flusher        = (*cookieWriter)(nil)
	_ http.Hijacker       = (*cookieWriter)(nil)
)
