package h1

import (
	"net/textproto"
	"strings"
)

// tokenTable marks the bytes allowed in an RFC 9110 token (tchar).
var tokenTable = func() (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
		t[c-'a'+'A'] = true
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		t[c] = true
	}
	return t
}()

// ValidHeaderName reports whether b is a valid field name: a non-empty RFC
// 9110 token. Whitespace is not a token byte, so "Name :" is rejected too.
func ValidHeaderName(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if !tokenTable[c] {
			return false
		}
	}
	return true
}

func validToken(s string) bool {
	if len(s) == 0 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !tokenTable[s[i]] {
			return false
		}
	}
	return true
}

// ValidHeaderValue reports whether b may appear as a field value: no control
// characters other than horizontal tab, which also excludes CR, LF, NUL and
// DEL. Bytes >= 0x80 (obs-text) are allowed, as RFC 9110 does.
func ValidHeaderValue(b []byte) bool {
	for _, c := range b {
		if (c < ' ' && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

func validValue(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < ' ' && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

// trimOWS removes optional whitespace (SP and HTAB) from both ends of s.
func trimOWS(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}

// commonHeaders maps the lower-case spelling of frequent field names to their
// canonical form. Clients that send lower-case names (HTTP/2-minded ones, curl
// for some headers, load generators) would otherwise cost an allocation per
// header in textproto.CanonicalMIMEHeaderKey.
var commonHeaders = func() map[string]string {
	m := make(map[string]string)
	for _, k := range []string{
		"Accept", "Accept-Charset", "Accept-Encoding", "Accept-Language", "Accept-Ranges",
		"Authorization", "Cache-Control", "Connection", "Content-Encoding", "Content-Language",
		"Content-Length", "Content-Type", "Cookie", "Date", "Dnt", "Etag", "Expect", "Forwarded",
		"Host", "If-Match", "If-Modified-Since", "If-None-Match", "If-Range", "If-Unmodified-Since",
		"Keep-Alive", "Origin", "Pragma", "Priority", "Proxy-Authorization", "Range", "Referer",
		"Sec-Ch-Ua", "Sec-Ch-Ua-Mobile", "Sec-Ch-Ua-Platform", "Sec-Fetch-Dest", "Sec-Fetch-Mode",
		"Sec-Fetch-Site", "Sec-Fetch-User", "Sec-Websocket-Extensions", "Sec-Websocket-Key",
		"Sec-Websocket-Protocol", "Sec-Websocket-Version", "Te", "Trailer", "Transfer-Encoding",
		"Upgrade", "Upgrade-Insecure-Requests", "User-Agent", "Via", "X-Forwarded-For",
		"X-Forwarded-Host", "X-Forwarded-Port", "X-Forwarded-Proto", "X-Real-Ip", "X-Request-Id",
		"X-Requested-With", "Traceparent", "Tracestate",
	} {
		m[strings.ToLower(k)] = k
	}
	return m
}()

// canonicalKey returns the canonical MIME form of a valid token name without
// allocating when the name is already canonical or is a common header.
func canonicalKey(name string) string {
	upper := true
	for i := 0; i < len(name); i++ {
		c := name[i]
		if upper {
			if 'a' <= c && c <= 'z' {
				return slowCanonicalKey(name)
			}
		} else if 'A' <= c && c <= 'Z' {
			return slowCanonicalKey(name)
		}
		upper = c == '-'
	}
	return name
}

func slowCanonicalKey(name string) string {
	if len(name) <= 32 {
		var buf [32]byte
		for i := 0; i < len(name); i++ {
			c := name[i]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			buf[i] = c
		}
		// The compiler does not allocate for a string(bytes) map index.
		if k, ok := commonHeaders[string(buf[:len(name)])]; ok {
			return k
		}
	}
	return textproto.CanonicalMIMEHeaderKey(name)
}

// hasToken reports whether the comma-separated list v contains token t,
// compared case-insensitively (as Connection options are).
func hasToken(v, t string) bool {
	for v != "" {
		var item string
		item, v, _ = strings.Cut(v, ",")
		if strings.EqualFold(trimOWS(item), t) {
			return true
		}
	}
	return false
}
