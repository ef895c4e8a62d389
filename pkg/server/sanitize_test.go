package server

import (
	"net/url"
	"strings"
	"testing"
)

func TestSanitizeURL(t *testing.T) {
	for _, tc := range []struct {
		desc, in  string
		path, raw string // wanted Path and EscapedPath
	}{
		{desc: "clean path untouched", in: "/api/v1/users", path: "/api/v1/users", raw: "/api/v1/users"},
		{desc: "root", in: "/", path: "/", raw: "/"},
		{desc: "dot-dot climbs", in: "/public/../admin", path: "/admin", raw: "/admin"},
		{desc: "dot-dot above the root stays at the root", in: "/../../etc/passwd", path: "/etc/passwd", raw: "/etc/passwd"},
		{desc: "single dots dropped", in: "/a/./b/.", path: "/a/b/", raw: "/a/b/"},
		{desc: "trailing dot-dot keeps a slash", in: "/a/b/..", path: "/a/", raw: "/a/"},
		{desc: "repeated slashes merged", in: "//a///b//", path: "/a/b/", raw: "/a/b/"},
		{desc: "encoded dots are dots", in: "/public/%2e%2E/admin", path: "/admin", raw: "/admin"},
		{desc: "encoded slash stays encoded", in: "/a%2Fb/../c", path: "/c", raw: "/c"},
		{desc: "encoded slash in a kept segment", in: "/x/a%2Fb//c", path: "/x/a/b/c", raw: "/x/a%2Fb/c"},
		{desc: "dotfile is not a dot segment", in: "/.well-known/acme-challenge/x", path: "/.well-known/acme-challenge/x", raw: "/.well-known/acme-challenge/x"},
		{desc: "dots inside a name", in: "/a/..b/c..", path: "/a/..b/c..", raw: "/a/..b/c.."},
		{desc: "escaped space survives", in: "/a%20b/./c", path: "/a b/c", raw: "/a%20b/c"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			u, err := url.ParseRequestURI(tc.in + "?q=1")
			if err != nil {
				t.Fatal(err)
			}
			sanitizeURL(u)
			if u.Path != tc.path || u.EscapedPath() != tc.raw || u.RawQuery != "q=1" {
				t.Errorf("got Path %q EscapedPath %q query %q, want %q %q q=1", u.Path, u.EscapedPath(), u.RawQuery, tc.path, tc.raw)
			}
		})
	}
}

// FuzzSanitizeURL: the result never holds a dot segment or an empty
// segment, always starts with "/", and sanitizing again changes nothing.
func FuzzSanitizeURL(f *testing.F) {
	for _, s := range []string{"/a/../b", "//x/./y/..", "/%2e%2e/%2F", "/.well-known/x", "/a%20b//"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		u, err := url.ParseRequestURI(in)
		if err != nil || u.Opaque != "" || !strings.HasPrefix(u.EscapedPath(), "/") {
			return
		}
		sanitizeURL(u)
		p := u.EscapedPath()
		if !strings.HasPrefix(p, "/") {
			t.Fatalf("%q: result %q is not absolute", in, p)
		}
		segs := strings.Split(p[1:], "/")
		for i, seg := range segs {
			if seg == "" && i == len(segs)-1 {
				continue // a trailing slash
			}
			if seg == "" || seg == "." || seg == ".." || strings.EqualFold(seg, "%2e") || strings.EqualFold(seg, "%2e%2e") {
				t.Fatalf("%q: result %q keeps segment %q", in, p, seg)
			}
		}
		again := *u
		sanitizeURL(&again)
		if again.EscapedPath() != p || again.Path != u.Path {
			t.Fatalf("%q: not idempotent: %q then %q", in, p, again.EscapedPath())
		}
	})
}

func BenchmarkSanitizeCleanPath(b *testing.B) {
	u, _ := url.ParseRequestURI("/api/v1/users/12345/orders?limit=10")
	for b.Loop() {
		sanitizeURL(u)
	}
}
