package replacepath

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/berthproxy/berth/pkg/middleware"
)

// seen records what the next handler received.
type seen struct {
	path, rawPath, requestURI string
	replaced                  []string
}

func build(t *testing.T, spec *Spec) (http.Handler, *seen) {
	t.Helper()
	got := &seen{}
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.path = r.URL.Path
		got.rawPath = r.URL.RawPath
		got.requestURI = r.RequestURI
		got.replaced = r.Header.Values(ReplacedPathHeader)
	})
	h, err := Factory{}.Build(middleware.BuildContext{}, "test", spec, next)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	return h, got
}

func TestReplacePath(t *testing.T) {
	tests := []struct {
		desc           string
		path           string
		target         string
		wantPath       string
		wantRawPath    string
		wantRequestURI string
		wantReplaced   string
	}{
		{
			desc:           "replaces the path and keeps the query",
			path:           "/foo",
			target:         "/api/users?id=1&x=%41",
			wantPath:       "/foo",
			wantRequestURI: "/foo?id=1&x=%41",
			wantReplaced:   "/api/users",
		},
		{
			desc:           "root path",
			path:           "/foo",
			target:         "/",
			wantPath:       "/foo",
			wantRequestURI: "/foo",
			wantReplaced:   "/",
		},
		{
			desc:           "original encoded slash is reported escaped",
			path:           "/foo",
			target:         "/a%2Fb",
			wantPath:       "/foo",
			wantRequestURI: "/foo",
			wantReplaced:   "/a%2Fb",
		},
		{
			desc:           "original encoded space is reported escaped",
			path:           "/foo",
			target:         "/a%20b?q=1",
			wantPath:       "/foo",
			wantRequestURI: "/foo?q=1",
			wantReplaced:   "/a%20b",
		},
		{
			desc:           "configured path is read escaped: %2F stays in one segment",
			path:           "/a%2Fb",
			target:         "/x",
			wantPath:       "/a/b",
			wantRawPath:    "/a%2Fb",
			wantRequestURI: "/a%2Fb",
			wantReplaced:   "/x",
		},
		{
			desc:           "configured escaped space",
			path:           "/a%20b",
			target:         "/x",
			wantPath:       "/a b",
			wantRequestURI: "/a%20b",
			wantReplaced:   "/x",
		},
		{
			desc:           "configured raw space is escaped on the way out",
			path:           "/a b",
			target:         "/x",
			wantPath:       "/a b",
			wantRequestURI: "/a%20b",
			wantReplaced:   "/x",
		},
		{
			desc:           "configured escaping is sent as written",
			path:           "/%61pi",
			target:         "/x",
			wantPath:       "/api",
			wantRawPath:    "/%61pi",
			wantRequestURI: "/%61pi",
			wantReplaced:   "/x",
		},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			h, got := build(t, &Spec{Path: tt.path})
			r := httptest.NewRequest(http.MethodGet, tt.target, nil)
			origURI, origPath, origRaw := r.RequestURI, r.URL.Path, r.URL.RawPath
			h.ServeHTTP(httptest.NewRecorder(), r)

			if got.path != tt.wantPath {
				t.Errorf("Path = %q, want %q", got.path, tt.wantPath)
			}
			if got.rawPath != tt.wantRawPath {
				t.Errorf("RawPath = %q, want %q", got.rawPath, tt.wantRawPath)
			}
			if got.requestURI != tt.wantRequestURI {
				t.Errorf("RequestURI = %q, want %q", got.requestURI, tt.wantRequestURI)
			}
			if len(got.replaced) != 1 || got.replaced[0] != tt.wantReplaced {
				t.Errorf("X-Replaced-Path = %q, want [%q]", got.replaced, tt.wantReplaced)
			}
			if r.RequestURI != origURI || r.URL.Path != origPath || r.URL.RawPath != origRaw || r.Header.Get(ReplacedPathHeader) != "" {
				t.Errorf("caller's request was modified: %q %q %q %v", r.RequestURI, r.URL.Path, r.URL.RawPath, r.Header)
			}
		})
	}
}

func TestReplacePathAppendsToExistingHeader(t *testing.T) {
	h, got := build(t, &Spec{Path: "/c"})
	r := httptest.NewRequest(http.MethodGet, "/b", nil)
	r.Header.Set(ReplacedPathHeader, "/a")
	h.ServeHTTP(httptest.NewRecorder(), r)
	if strings.Join(got.replaced, ",") != "/a,/b" {
		t.Errorf("X-Replaced-Path = %q, want [/a /b] (added, as Traefik does)", got.replaced)
	}
	if v := r.Header.Values(ReplacedPathHeader); len(v) != 1 {
		t.Errorf("caller's header modified: %q", v)
	}
}

func TestReplacePathWithoutHeaderMap(t *testing.T) {
	h, got := build(t, &Spec{Path: "/c"})
	r := httptest.NewRequest(http.MethodGet, "/b", nil)
	r.Header = nil
	h.ServeHTTP(httptest.NewRecorder(), r)
	if len(got.replaced) != 1 || got.replaced[0] != "/b" {
		t.Errorf("X-Replaced-Path = %q, want [/b]", got.replaced)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		desc    string
		spec    Spec
		wantErr string
	}{
		{desc: "empty", wantErr: `path: required`},
		{desc: "relative path", spec: Spec{Path: "foo"}, wantErr: `path: "foo" must start with "/"`},
		{desc: "bad escape", spec: Spec{Path: "/100%zz"}, wantErr: `path: invalid URL escape "%zz"; write a literal "%" as "%25"`},
		{desc: "truncated escape", spec: Spec{Path: "/a%2"}, wantErr: `path: invalid URL escape "%2"`},
		{desc: "valid", spec: Spec{Path: "/foo"}},
		{desc: "valid escaped", spec: Spec{Path: "/a%2Fb%25"}},
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
	if err == nil || !strings.Contains(err.Error(), "replacePath") {
		t.Errorf("Build = %v, want an error naming replacePath", err)
	}
}
