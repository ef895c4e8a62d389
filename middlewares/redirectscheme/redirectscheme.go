// Package redirectscheme implements Traefik's redirectScheme middleware,
// mostly used to send plain-HTTP clients to HTTPS.
package redirectscheme

import (
	"net"
	"net/http"
	"net/url"
	"strings"
)

type handler struct {
	next      http.Handler
	scheme    string // lower case
	port      string // configured port, "" if none
	permanent bool
	// locationPort is the port written into Location: the configured one
	// unless it is the default of scheme.
	locationPort string
}

// ServeHTTP redirects when the request's scheme differs from the configured
// one, or when a port is configured and the request's port differs. Without
// a configured port, a request already on the right scheme is never
// redirected, whatever its port: Traefik would send https://host:8443/ to
// https://host/, which is rarely what anybody wants.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	scheme := RequestScheme(r)
	host, port := splitHost(r.Host)
	if port == "" {
		port = defaultPort(scheme)
	}
	if scheme == h.scheme && (h.port == "" || port == h.port) {
		h.next.ServeHTTP(w, r)
		return
	}

	loc := url.URL{
		Scheme:   h.scheme,
		Host:     joinHost(host, h.locationPort),
		Path:     r.URL.Path,
		RawPath:  r.URL.RawPath,
		RawQuery: r.URL.RawQuery,
	}
	if loc.Path == "" {
		loc.Path = "/"
	}

	// 301 and 302 let clients turn a POST into a GET; 307 and 308 keep
	// the method and body, so they are used for anything but GET and HEAD,
	// which have no body to lose.
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

func isGetOrHead(m string) bool { return m == http.MethodGet || m == http.MethodHead }

// RequestScheme is "https" when the connection is TLS or when the entrypoint
// (which only keeps X-Forwarded-Proto from trusted peers) says the client
// used HTTPS. A WebSocket hop may have set "wss"/"ws", which are HTTPS/HTTP
// as far as this middleware is concerned. redirectRegex uses it too.
func RequestScheme(r *http.Request) string {
	if r.TLS != nil {
		return "https"
	}
	switch p := r.Header.Get("X-Forwarded-Proto"); {
	case strings.EqualFold(p, "https"), strings.EqualFold(p, "wss"):
		return "https"
	}
	return "http"
}

// splitHost splits "host:port", "[v6]:port", "host" or "[v6]" and returns
// the host without brackets.
func splitHost(hostport string) (host, port string) {
	if h, p, err := net.SplitHostPort(hostport); err == nil {
		return h, p
	}
	return strings.TrimSuffix(strings.TrimPrefix(hostport, "["), "]"), ""
}

// joinHost adds port when there is one, and brackets IPv6 addresses.
func joinHost(host, port string) string {
	if port != "" {
		return net.JoinHostPort(host, port)
	}
	if strings.Contains(host, ":") {
		return "[" + host + "]"
	}
	return host
}

func defaultPort(scheme string) string {
	switch scheme {
	case "http", "ws":
		return "80"
	case "https", "wss":
		return "443"
	}
	return ""
}

var _ http.Handler = (*handler)(nil)
