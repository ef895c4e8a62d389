package rules

import (
	"net/http"
	"net/netip"
	"net/url"
	"strings"
)

// This file holds the per-request helpers the matchers share. They run on
// every request, so each one avoids allocating in the common case.

// requestHost returns the host a request is addressed to, without port,
// IPv6 brackets or a trailing dot, in its original case. Server requests
// carry it in req.Host; client requests may leave that empty and rely on
// req.URL.Host.
func requestHost(req *http.Request) string {
	h := req.Host
	if h == "" && req.URL != nil {
		h = req.URL.Host
	}
	h = stripPort(h)
	return strings.TrimSuffix(h, ".")
}

// stripPort removes a ":port" suffix and the brackets of an IPv6 literal.
// A bare IPv6 address, which has several colons and no brackets, is
// returned unchanged rather than being cut at its last colon.
func stripPort(h string) string {
	if strings.HasPrefix(h, "[") {
		if i := strings.IndexByte(h, ']'); i > 0 {
			return h[1:i]
		}
		return h
	}
	if i := strings.IndexByte(h, ':'); i >= 0 && strings.LastIndexByte(h, ':') == i {
		return h[:i]
	}
	return h
}

// requestPath returns the decoded URL path, or "" for a request without URL.
func requestPath(req *http.Request) string {
	if req.URL == nil {
		return ""
	}
	return req.URL.Path
}

// equalFoldASCII reports whether a and b are equal under ASCII case
// folding. Host names and methods are ASCII, and unlike strings.EqualFold
// this never folds non-ASCII runes such as the Kelvin sign into "k".
func equalFoldASCII(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		ca, cb := a[i], b[i]
		if ca == cb {
			continue
		}
		if 'A' <= ca && ca <= 'Z' {
			ca += 'a' - 'A'
		}
		if 'A' <= cb && cb <= 'Z' {
			cb += 'a' - 'A'
		}
		if ca != cb {
			return false
		}
	}
	return true
}

// lowerASCII lower-cases ASCII letters, returning s itself, without
// allocating, when it has no upper-case letter, which is the usual case
// for hosts.
func lowerASCII(s string) string {
	i := 0
	for i < len(s) && !('A' <= s[i] && s[i] <= 'Z') {
		i++
	}
	if i == len(s) {
		return s
	}
	b := []byte(s)
	for ; i < len(b); i++ {
		if 'A' <= b[i] && b[i] <= 'Z' {
			b[i] += 'a' - 'A'
		}
	}
	return string(b)
}

// scanQuery reports whether the raw query has a parameter named key with a
// value for which pred is true. It follows url.ParseQuery (pairs separated
// by "&", pairs containing ";" or bad escapes skipped) but walks the raw
// string instead of building a url.Values map for every request.
func scanQuery(raw, key string, pred func(string) bool) bool {
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		if pair == "" || strings.IndexByte(pair, ';') >= 0 {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		k, ok := unescapeQuery(k)
		if !ok || k != key {
			continue
		}
		if v, ok = unescapeQuery(v); ok && pred(v) {
			return true
		}
	}
	return false
}

// unescapeQuery decodes a query component, skipping the decoder (and its
// allocation) when there is nothing to decode.
func unescapeQuery(s string) (string, bool) {
	if strings.IndexByte(s, '%') < 0 && strings.IndexByte(s, '+') < 0 {
		return s, true
	}
	u, err := url.QueryUnescape(s)
	return u, err == nil
}

// remoteIP extracts the IP of req.RemoteAddr, which is normally "ip:port"
// but may be a bare IP when set by tests or other front ends.
func remoteIP(addr string) (netip.Addr, bool) {
	if ap, err := netip.ParseAddrPort(addr); err == nil {
		return ap.Addr(), true
	}
	if ip, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(addr, "["), "]")); err == nil {
		return ip, true
	}
	return netip.Addr{}, false
}
