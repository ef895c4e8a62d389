package replacepathregex

import (
	"net/http"
	"net/http/httptest"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/berthproxy/berth/middlewares/replacepath"
	"github.com/berthproxy/berth/pkg/middleware"
)

// seen records what the next handler received.
type seen struct {
	called                    bool
	req                       *http.Request
	path, rawPath, requestURI string
	replaced                  []string
}

func build(t *testing.T, spec *Spec) (*handler, *seen) {
	t.Helper()
	got := &seen{}
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.called = true
		got.req = r
		got.path = r.URL.Path
		got.rawPath = r.URL.RawPath
		got.requestURI = r.RequestURI
		got.replaced = r.Header.Values(replacepath.ReplacedPathHeader)
	})
	h, err := Factory{}.Build(middleware.BuildContext{}, "test", spec, next)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	return h.(*handler), got
}

func TestReplacePathRegex(t *testing.T) {
	tests := []struct {
		desc           string
		regex          string
		replacement    string
		target         string
		wantPath       string
		wantRawPath    string
		wantRequestURI string
		wantReplaced   string // "": no header, request passed unchanged
	}{
		{
			desc:           "rewrites with a group and keeps the query",
			regex:          "^/foo/(.*)",
			replacement:    "/bar/$1",
			target:         "/foo/baz?x=1&y=%41",
			wantPath:       "/bar/baz",
			wantRequestURI: "/bar/baz?x=1&y=%41",
			wantReplaced:   "/foo/baz",
		},
		{
			desc:           "no match passes the request unchanged",
			regex:          "^/foo/(.*)",
			replacement:    "/bar/$1",
			target:         "/other?x=1",
			wantPath:       "/other",
			wantRequestURI: "/other?x=1",
		},
		{
			desc:           "the query is not matched",
			regex:          `x=1`,
			replacement:    "/hit",
			target:         "/a?x=1",
			wantPath:       "/a",
			wantRequestURI: "/a?x=1",
		},
		{
			desc:           "every match is replaced",
			regex:          "o",
			replacement:    "0",
			target:         "/foo/boo",
			wantPath:       "/f00/b00",
			wantRequestURI: "/f00/b00",
			wantReplaced:   "/foo/boo",
		},
		{
			desc:           "named group; a \"?\" in the replacement stays in the path, as in Traefik",
			regex:          "^/users/(?P<id>[0-9]+)$",
			replacement:    "/u?id=${id}",
			target:         "/users/42",
			wantPath:       "/u?id=42",
			wantRawPath:    "",
			wantRequestURI: "/u%3Fid=42",
			wantReplaced:   "/users/42",
		},
		{
			desc:           "matches the escaped path: %2F is not a slash",
			regex:          "^/a%2Fb(.*)",
			replacement:    "/x$1",
			target:         "/a%2Fb/c",
			wantPath:       "/x/c",
			wantRequestURI: "/x/c",
			wantReplaced:   "/a%2Fb/c",
		},
		{
			desc:           "a decoded slash does not match an encoded one",
			regex:          "^/a/b",
			replacement:    "/x",
			target:         "/a%2Fb",
			wantPath:       "/a/b",
			wantRawPath:    "/a%2Fb",
			wantRequestURI: "/a%2Fb",
		},
		{
			desc:           "encoded slash in the captured part is kept",
			regex:          "^/api/(.*)",
			replacement:    "/v2/$1",
			target:         "/api/a%2Fb?q=1",
			wantPath:       "/v2/a/b",
			wantRawPath:    "/v2/a%2Fb",
			wantRequestURI: "/v2/a%2Fb?q=1",
			wantReplaced:   "/api/a%2Fb",
		},
		{
			desc:           "replacement can introduce an encoded slash",
			regex:          "^/a/b$",
			replacement:    "/a%2Fb",
			target:         "/a/b",
			wantPath:       "/a/b",
			wantRawPath:    "/a%2Fb",
			wantRequestURI: "/a%2Fb",
			wantReplaced:   "/a/b",
		},
		{
			desc:           "encoded space is matched escaped and stays escaped",
			regex:          "^/(.*)$",
			replacement:    "/x/$1",
			target:         "/a%20b?q=%20",
			wantPath:       "/x/a b",
			wantRequestURI: "/x/a%20b?q=%20",
			wantReplaced:   "/a%20b",
		},
		{
			desc:           "match that changes nothing still sets the header, as in Traefik",
			regex:          "^/foo",
			replacement:    "/foo",
			target:         "/foo/x",
			wantPath:       "/foo/x",
			wantRequestURI: "/foo/x",
			wantReplaced:   "/foo/x",
		},
		{
			desc:           "result without a leading slash is made absolute",
			regex:          "^/api/(.*)",
			replacement:    "$1",
			target:         "/api/users",
			wantPath:       "/users",
			wantRequestURI: "/users",
			wantReplaced:   "/api/users",
		},
		{
			desc:           "empty replacement removes the match",
			regex:          "^/api",
			replacement:    "",
			target:         "/api/x",
			wantPath:       "/x",
			wantRequestURI: "/x",
			wantReplaced:   "/api/x",
		},
		{
			desc:           "emptied path becomes /",
			regex:          "^/api",
			replacement:    "",
			target:         "/api",
			wantPath:       "/",
			wantRequestURI: "/",
			wantReplaced:   "/api",
		},
		{
			desc:           "surrounding spaces are trimmed, as in Traefik",
			regex:          " ^/foo ",
			replacement:    " /bar ",
			target:         "/foo",
			wantPath:       "/bar",
			wantRequestURI: "/bar",
			wantReplaced:   "/foo",
		},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			h, got := build(t, &Spec{Regex: tt.regex, Replacement: tt.replacement})
			r := httptest.NewRequest(http.MethodGet, tt.target, nil)
			origURI, origPath, origRaw := r.RequestURI, r.URL.Path, r.URL.RawPath
			h.ServeHTTP(httptest.NewRecorder(), r)

			if !got.called {
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
			if tt.wantReplaced == "" {
				if got.req != r {
					t.Error("no match, but next got a different request")
				}
				if len(got.replaced) != 0 {
					t.Errorf("X-Replaced-Path = %q, want none", got.replaced)
				}
			} else if len(got.replaced) != 1 || got.replaced[0] != tt.wantReplaced {
				t.Errorf("X-Replaced-Path = %q, want [%q]", got.replaced, tt.wantReplaced)
			}
			if r.RequestURI != origURI || r.URL.Path != origPath || r.URL.RawPath != origRaw || r.Header.Get(replacepath.ReplacedPathHeader) != "" {
				t.Errorf("caller's request was modified: %q %q %q %v", r.RequestURI, r.URL.Path, r.URL.RawPath, r.Header)
			}
		})
	}
}

func TestReplacePathRegexBadEscapeIs500(t *testing.T) {
	h, got := build(t, &Spec{Regex: "^/(.*)", Replacement: "/%zz$1"})
	var warned string
	h.warn = func(msg string) { warned = msg }
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/a", nil))
	if got.called {
		t.Error("next was called")
	}
	if rec.Code != http.StatusInternalServerError {
		t.Errorf("status = %d, want 500", rec.Code)
	}
	if !strings.Contains(warned, `"/%zza"`) || !strings.Contains(warned, "invalid URL escape") {
		t.Errorf("warning = %q, want it to name the rewritten path and the error", warned)
	}
}

func TestReplacePathRegexAppendsToExistingHeader(t *testing.T) {
	h, got := build(t, &Spec{Regex: "^/b", Replacement: "/c"})
	r := httptest.NewRequest(http.MethodGet, "/b", nil)
	r.Header.Set(replacepath.ReplacedPathHeader, "/a")
	h.ServeHTTP(httptest.NewRecorder(), r)
	if strings.Join(got.replaced, ",") != "/a,/b" {
		t.Errorf("X-Replaced-Path = %q, want [/a /b] (added, as Traefik does)", got.replaced)
	}
	if v := r.Header.Values(replacepath.ReplacedPathHeader); len(v) != 1 {
		t.Errorf("caller's header modified: %q", v)
	}
}

func TestReplacePathRegexPassThroughAllocatesNothing(t *testing.T) {
	if raceEnabled() {
		t.Skip("sync.Pool drops items at random under -race; allocations are only counted without it")
	}
	h, _ := build(t, &Spec{Regex: "^/foo/(.*)", Replacement: "/bar/$1"})
	h.next = http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	r := httptest.NewRequest(http.MethodGet, "/other/path?q=1", nil)
	w := httptest.NewRecorder()
	if n := testing.AllocsPerRun(100, func() { h.ServeHTTP(w, r) }); n != 0 {
		t.Errorf("pass-through allocates %v times per request, want 0", n)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		desc    string
		spec    Spec
		wantErr string
	}{
		{desc: "empty", wantErr: `regex: required`},
		{desc: "only spaces", spec: Spec{Regex: "  ", Replacement: "/x"}, wantErr: `regex: required`},
		{desc: "invalid regex", spec: Spec{Regex: "^/foo/(.*", Replacement: "/x"}, wantErr: "regex: error parsing regexp: missing closing ): `^/foo/(.*`"},
		{desc: "invalid escape in regex", spec: Spec{Regex: `\y`}, wantErr: "regex: error parsing regexp: invalid escape sequence: `\\y`"},
		{desc: "valid", spec: Spec{Regex: "^/foo/(.*)", Replacement: "/bar/$1"}},
		{desc: "valid without replacement", spec: Spec{Regex: "^/foo"}},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			err := tt.spec.Validate()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("Validate() = %v, want nil", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("Validate() = %v, want error containing %q", err, tt.wantErr)
			}
			if tt.wantErr != "" {
				if _, err := (Factory{}).Build(middleware.BuildContext{}, "x", &tt.spec, http.NotFoundHandler()); err == nil {
					t.Error("Build accepted options that Validate refuses")
				}
			}
		})
	}
}

func TestBuildRefusesForeignSpec(t *testing.T) {
	_, err := Factory{}.Build(middleware.BuildContext{}, "x", struct{ middleware.Spec }{}, http.NotFoundHandler())
	if err == nil || !strings.Contains(err.Error(), "replacePathRegex") {
		t.Errorf("Build = %v, want an error naming replacePathRegex", err)
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
