package server

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/berthproxy/berth/pkg/config"
)

// Pre-canonicalised header keys, so that setting them costs no
// canonicalisation on every request.
const (
	hXFF    = "X-Forwarded-For"
	hXFP    = "X-Forwarded-Proto"
	hXFH    = "X-Forwarded-Host"
	hXFPort = "X-Forwarded-Port"
	hXFS    = "X-Forwarded-Server"
	hXFPre  = "X-Forwarded-Prefix"
	hXRI    = "X-Real-Ip"
	hConn   = "Connection"
	hUpg    = "Upgrade"
)

// untrusted are the headers a client outside trustedIPs may not set,
// because backends believe them.
var untrusted = []string{hXFF, hXFP, hXFH, hXFPort, hXFS, hXFPre, hXRI, "Forwarded", "X-Forwarded-Uri", "X-Forwarded-Method", "X-Forwarded-Tls-Client-Cert", "X-Forwarded-Tls-Client-Cert-Info"}

// forwarded prepares every request of an entrypoint before any router or
// middleware sees it: it drops hop-by-hop headers named in Connection,
// strips forwarding headers from untrusted peers, and sets berth's own.
// The order matters: Connection-listed headers are removed before berth
// sets its headers, so a client cannot make the proxy drop them
// (Traefik CVE-2024-45410).
type forwarded struct {
	insecure bool
	trusted  []netip.Prefix
	server   string // X-Forwarded-Server: this host's name
}

func newForwarded(cfg *config.ForwardedHeaders, hostname string) (*forwarded, error) {
	f := &forwarded{server: hostname}
	if cfg == nil {
		return f, nil
	}
	f.insecure = cfg.Insecure
	for _, s := range cfg.TrustedIPs {
		p, err := parsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("forwardedHeaders.trustedIPs: %q is not an IP or CIDR", s)
		}
		f.trusted = append(f.trusted, p)
	}
	return f, nil
}

func parsePrefix(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		return p.Masked(), err
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()), nil
}

func (f *forwarded) isTrusted(ip netip.Addr) bool {
	for _, p := range f.trusted {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// apply edits r's headers in place; the entrypoint owns the request.
func (f *forwarded) apply(r *http.Request) {
	h := r.Header
	host, _, _ := net.SplitHostPort(r.RemoteAddr)
	ip, _ := netip.ParseAddr(host)
	ip = ip.Unmap()

	if c := h[hConn]; len(c) > 0 {
		removeConnectionHeaders(h, c)
	}
	if !f.insecure && !(len(f.trusted) > 0 && f.isTrusted(ip)) {
		for _, k := range untrusted {
			delete(h, k)
		}
	}
	if len(h[hXFP]) == 0 {
		proto := "http"
		if r.TLS != nil {
			proto = "https"
		}
		if isWebSocket(h) {
			proto = "ws"
			if r.TLS != nil {
				proto = "wss"
			}
		}
		h[hXFP] = []string{proto}
	}
	if len(h[hXFH]) == 0 && r.Host != "" {
		h[hXFH] = []string{r.Host}
	}
	if len(h[hXFPort]) == 0 {
		h[hXFPort] = []string{hostPort(r)}
	}
	if f.server != "" {
		h[hXFS] = []string{f.server}
	}
	if len(h[hXRI]) == 0 && host != "" {
		h[hXRI] = []string{host}
	}
}

// removeConnectionHeaders deletes the headers a client listed in
// Connection, keeping Upgrade so that WebSockets still work.
func removeConnectionHeaders(h http.Header, values []string) {
	for _, v := range values {
		for _, tok := range strings.Split(v, ",") {
			tok = strings.TrimSpace(tok)
			if tok == "" || strings.EqualFold(tok, "upgrade") || strings.EqualFold(tok, "close") || strings.EqualFold(tok, "keep-alive") {
				continue
			}
			h.Del(tok)
		}
	}
}

func isWebSocket(h http.Header) bool {
	for _, v := range h[hUpg] {
		if strings.EqualFold(strings.TrimSpace(v), "websocket") {
			return true
		}
	}
	return false
}

// hostPort is the port the client connected to, from Host or the scheme.
func hostPort(r *http.Request) string {
	host := r.Host
	if i := strings.LastIndexByte(host, ':'); i >= 0 && i > strings.LastIndexByte(host, ']') {
		return host[i+1:]
	}
	if r.TLS != nil {
		return "443"
	}
	return "80"
}
