package server

import (
	"net/url"
	"strings"
)

// A path such as "/public/../admin" matches a router for PathPrefix(`/public`)
// while the backend, which resolves the dot segments, serves /admin: any
// authentication on the admin router is bypassed. So, as Traefik does
// (entryPoints.<name>.http.sanitizePath, default true) and as nginx does
// before matching locations, an entrypoint removes "." and ".." segments
// (RFC 3986, section 5.2.4) and repeated slashes before routing, and the
// backend receives the cleaned path. An encoded dot ("%2e") counts as a dot:
// it is an unreserved character, equivalent to its plain form.

// needsSanitizing reports, without allocating, whether an escaped path has
// anything sanitizePath would change.
func needsSanitizing(p string) bool {
	for i := 0; i+1 < len(p); i++ {
		switch p[i] {
		case '/':
			if c := p[i+1]; c == '/' || c == '.' {
				return true
			}
		case '%':
			if i+2 < len(p) && p[i+1] == '2' && (p[i+2] == 'e' || p[i+2] == 'E') {
				return true
			}
		}
	}
	return false
}

// encodedDot decodes "%2e", an unreserved character, to the dot it stands
// for; built once, since a Replacer is costly to make.
var encodedDot = strings.NewReplacer("%2e", ".", "%2E", ".")

// cleanPath returns the escaped path p without dot segments and repeated
// slashes. A path that ends in a slash or in a dot segment keeps (or gets)
// a trailing slash: "/a/b/.." is "/a/".
func cleanPath(p string) string {
	p = encodedDot.Replace(p)
	segs := strings.Split(p, "/")
	out := make([]string, 0, len(segs))
	trailing := false
	for i, s := range segs {
		last := i == len(segs)-1
		switch s {
		case "", ".":
			trailing = last
		case "..":
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
			trailing = last
		default:
			out = append(out, s)
			trailing = false
		}
	}
	var b strings.Builder
	b.Grow(len(p))
	for _, s := range out {
		b.WriteByte('/')
		b.WriteString(s)
	}
	if trailing || b.Len() == 0 {
		b.WriteByte('/')
	}
	return b.String()
}

// sanitizeURL cleans u's path in place (see cleanPath), keeping Path and
// RawPath consistent. Paths that are not absolute ("*", authority forms)
// are left alone.
func sanitizeURL(u *url.URL) {
	if u.Opaque != "" {
		return
	}
	escaped := u.EscapedPath()
	if !strings.HasPrefix(escaped, "/") || !needsSanitizing(escaped) {
		return
	}
	clean := cleanPath(escaped)
	path, err := url.PathUnescape(clean)
	if err != nil {
		return // cannot happen for a path the server parsed; leave it
	}
	// RawPath is set only when the client's escaping differs from Path's
	// default one, as net/url expects.
	u.Path, u.RawPath = path, ""
	if u.EscapedPath() != clean {
		u.RawPath = clean
	}
}
