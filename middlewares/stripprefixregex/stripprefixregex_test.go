package stripprefixregex

import (
	"net/http"
	"net/http/httptest"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/berthproxy/berth/middlewares/stripprefix"
	"github.com/berthproxy/berth/pkg/middleware"
)

// seen records what the next handler received.
type seen struct {
	req                       *http.Request
	path, rawPath, requestURI string
	prefixes                  []string
}

func build(t *testing.T, spec *Spec) (*handler, *seen) {
	t.Helper()
	got := &seen{}
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.req = r
		got.path = r.URL.Path
		got.rawPath = r.URL.RawPath
		got.requestURI = r.RequestURI
		got.prefixes = r.Header.Values(stripprefix.ForwardedPrefixHeader)
	})
	h, err := Factory{}.Build(middleware.BuildContext{}, "test", spec, next)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	return h.(*handler), got
}

func TestStripPrefixRegex(t *testing.T) {
	tests := []struct {
		desc           string
		regex          []string
		target         string
		wantPath       string
		wantRawPath    string
		wantRequestURI string
		wantPrefix     []string // nil: request passed unchanged
	}{
		{
			desc:           "strips the matched prefix and keeps the query",
			regex:          []string{"/foo/[a-z0-9]+/[0-9]+/"},
			target:         "/foo/bar/42/baz?x=1&y=%41",
			wantPath:       "/baz",
			wantRequestURI: "/baz?x=1&y=%41",
			wantPrefix:     []string{"/foo/bar/42/"},
		},
		{
			desc:           "anchored regex",
			regex:          []string{"^/api/v[0-9]+"},
			target:         "/api/v2/users",
			wantPath:       "/users",
			wantRequestURI: "/users",
			wantPrefix:     []string{"/api/v2"},
		},
		{
			desc:           "whole path matched leaves /",
			regex:          []string{"/api"},
			target:         "/api?q=1",
			wantPath:       "/",
			wantRequestURI: "/?q=1",
			wantPrefix:     []string{"/api"},
		},
		{
			desc:           "match inside a segment leaves an absolute path",
			regex:          []string{"/api"},
			target:         "/apiv2/x",
			wantPath:       "/v2/x",
			wantRequestURI: "/v2/x",
			wantPrefix:     []string{"/api"},
		},
		{
			desc:           "no match passes the request unchanged",
			regex:          []string{"^/api"},
			target:         "/web/x?q=1",
			wantPath:       "/web/x",
			wantRequestURI: "/web/x?q=1",
		},
		{
			desc:           "a match that is not at the start is not a prefix",
			regex:          []string{"/foo/[0-9]+"},
			target:         "/x/foo/42",
			wantPath:       "/x/foo/42",
			wantRequestURI: "/x/foo/42",
		},
		{
			desc:           "a later match whose text begins the path is not a prefix",
			regex:          []string{"/a$"},
			target:         "/a/a",
			wantPath:       "/a/a",
			wantRequestURI: "/a/a",
		},
		{
			desc:           "empty matches are ignored and the next regex is tried",
			regex:          []string{"(/nope)?", "/b"},
			target:         "/b/c",
			wantPath:       "/c",
			wantRequestURI: "/c",
			wantPrefix:     []string{"/b"},
		},
		{
			desc:           "first matching regex wins",
			regex:          []string{"^/nope", "^/a", "^/a/b"},
			target:         "/a/b/c",
			wantPath:       "/b/c",
			wantRequestURI: "/b/c",
			wantPrefix:     []string{"/a"},
		},
		{
			desc:           "surrounding spaces are trimmed, as in Traefik",
			regex:          []string{"  ^/api  "},
			target:         "/api/x",
			wantPath:       "/x",
			wantRequestURI: "/x",
			wantPrefix:     []string{"/api"},
		},
		{
			desc:           "encoded slash after the prefix keeps both forms consistent",
			regex:          []string{"^/api"},
			target:         "/api/a%2Fb/c",
			wantPath:       "/a/b/c",
			wantRawPath:    "/a%2Fb/c",
			wantRequestURI: "/a%2Fb/c",
			wantPrefix:     []string{"/api"},
		},
		{
			desc:           "the regex sees the decoded path: an encoded slash is a slash",
			regex:          []string{"^/a/"},
			target:         "/a%2Fb",
			wantPath:       "/b",
			wantRequestURI: "/b",
			wantPrefix:     []string{"/a/"},
		},
		{
			desc:           "encoded slash right after the prefix",
			regex:          []string{"^/a"},
			target:         "/a%2Fb",
			wantPath:       "//b",
			wantRawPath:    "/%2Fb",
			wantRequestURI: "/%2Fb",
			wantPrefix:     []string{"/a"},
		},
		{
			desc:           "encoded space in the prefix is matched decoded",
			regex:          []string{"^/my api/[0-9]+"},
			target:         "/my%20api/42/x%2Fy?q=1",
			wantPath:       "/x/y",
			wantRawPath:    "/x%2Fy",
			wantRequestURI: "/x%2Fy?q=1",
			wantPrefix:     []string{"/my api/42"},
		},
		{
			desc:           "encoded space after the prefix without RawPath",
			regex:          []string{"^/api"},
			target:         "/api/a%20b",
			wantPath:       "/a b",
			wantRequestURI: "/a%20b",
			wantPrefix:     []string{"/api"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			h, got := build(t, &Spec{Regex: tt.regex})
			r := httptest.NewRequest(http.MethodGet, tt.target, nil)
			origURI, origPath, origRaw := r.RequestURI, r.URL.Path, r.URL.RawPath
			h.ServeHTTP(httptest.NewRecorder(), r)

			if got.req == nil {
				t.Fatal("next was not called")
			}
			if got.path != tt.wantPath {
				t.Errorf("Path = %q, want %q", got.path, tt.wantPath)
			}
			if got.rawPath != tt.wantRawPath {
				t.Errorf("RawPath = %q, want %q", got.rawPath, tt.wantRawPath)
			}
			if got.requestURI != tt.wantRequestURI {
				t.Errorf("RequestURI = %q, want %q", got.requestURI, tt.wantRequestURI)
			}
			if strings.Join(got.prefixes, ",") != strings.Join(tt.wantPrefix, ",") {
				t.Errorf("X-Forwarded-Prefix = %q, want %q", got.prefixes, tt.wantPrefix)
			}
			if tt.wantPrefix == nil && got.req != r {
				t.Error("no match, but next got a different request")
			}
			if r.RequestURI != origURI || r.URL.Path != origPath || r.URL.RawPath != origRaw || r.Header.Get(stripprefix.ForwardedPrefixHeader) != "" {
				t.Errorf("caller's request was modified: %q %q %q %v", r.RequestURI, r.URL.Path, r.URL.RawPath, r.Header)
			}
		})
	}
}

func TestStripPrefixRegexAppendsToExistingHeader(t *testing.T) {
	h, got := build(t, &Spec{Regex: []string{"^/b"}})
	r := httptest.NewRequest(http.MethodGet, "/b/c", nil)
	r.Header.Set(stripprefix.ForwardedPrefixHeader, "/a")
	h.ServeHTTP(httptest.NewRecorder(), r)
	if strings.Join(got.prefixes, ",") != "/a,/b" {
		t.Errorf("X-Forwarded-Prefix = %q, want [/a /b] (added, as Traefik does)", got.prefixes)
	}
	if v := r.Header.Values(stripprefix.ForwardedPrefixHeader); len(v) != 1 {
		t.Errorf("caller's header modified: %q", v)
	}
}

func TestStripPrefixRegexPassThroughAllocatesNothing(t *testing.T) {
	if raceEnabled() {
		t.Skip("sync.Pool drops items at random under -race; allocations are only counted without it")
	}
	h, _ := build(t, &Spec{Regex: []string{"^/api/v[0-9]+", "/foo/[0-9]+"}})
	h.next = http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	r := httptest.NewRequest(http.MethodGet, "/web/x?q=1", nil)
	w := httptest.NewRecorder()
	if n := testing.AllocsPerRun(100, func() { h.ServeHTTP(w, r) }); n != 0 {
		t.Errorf("pass-through allocates %v times per request, want 0", n)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		desc    string
		spec    Spec
		wantErr []string
	}{
		{desc: "empty", wantErr: []string{"regex: at least one regular expression is required"}},
		{desc: "empty list", spec: Spec{Regex: []string{}}, wantErr: []string{"regex: at least one regular expression is required"}},
		{desc: "empty entry", spec: Spec{Regex: []string{"^/ok", " "}}, wantErr: []string{"regex[1]: empty"}},
		{desc: "invalid entry", spec: Spec{Regex: []string{"^/ok", "/foo/(["}}, wantErr: []string{"regex[1]: error parsing regexp: missing closing ]: `[`"}},
		{
			desc:    "every bad entry is reported",
			spec:    Spec{Regex: []string{"(", "^/ok", `\y`}},
			wantErr: []string{"regex[0]: error parsing regexp: missing closing ): `(`", "regex[2]: error parsing regexp: invalid escape sequence: `\\y`"},
		},
		{desc: "valid", spec: Spec{Regex: []string{"/foo/[a-z0-9]+/[0-9]+/", " ^/api "}}},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			err := tt.spec.Validate()
			if len(tt.wantErr) == 0 {
				if err != nil {
					t.Errorf("Validate() = %v, want nil", err)
				}
				return
			}
			for _, want := range tt.wantErr {
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Errorf("Validate() = %v, want error containing %q", err, want)
				}
			}
			if _, err := (Factory{}).Build(middleware.BuildContext{}, "x", &tt.spec, http.NotFoundHandler()); err == nil {
				t.Error("Build accepted options that Validate refuses")
			}
		})
	}
}

func TestBuildRefusesForeignSpec(t *testing.T) {
	_, err := Factory{}.Build(middleware.BuildContext{}, "x", struct{ middleware.Spec }{}, http.NotFoundHandler())
	if err == nil || !strings.Contains(err.Error(), "stripPrefixRegex") {
		t.Errorf("Build = %v, want an error naming stripPrefixRegex", err)
	}
}

// raceEnabled reports whether the test binary was built with -race, under
// which sync.Pool (used by regexp, and by redirectRegex for its buffers)
// drops items at random on purpose, so that allocations cannot be counted.
func raceEnabled() bool {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range bi.Settings {
		if s.Key == "-race" {
			return s.Value == "true"
		}
	}
	return false
}
