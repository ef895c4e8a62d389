package addprefix

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
}

func build(t *testing.T, spec *Spec) (http.Handler, *seen) {
	t.Helper()
	got := &seen{}
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.path = r.URL.Path
		got.rawPath = r.URL.RawPath
		got.requestURI = r.RequestURI
	})
	h, err := Factory{}.Build(middleware.BuildContext{}, "test", spec, next)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	return h, got
}

func TestAddPrefix(t *testing.T) {
	tests := []struct {
		desc           string
		prefix         string
		target         string
		wantPath       string
		wantRawPath    string
		wantRequestURI string
	}{
		{
			desc:           "prepends the prefix and keeps the query",
			prefix:         "/api",
			target:         "/users?id=1&x=%41",
			wantPath:       "/api/users",
			wantRequestURI: "/api/users?id=1&x=%41",
		},
		{
			desc:           "a prefix without its slash gets one, as in Traefik",
			prefix:         "api",
			target:         "/users",
			wantPath:       "/api/users",
			wantRequestURI: "/api/users",
		},
		{
			desc:           "root path",
			prefix:         "/api",
			target:         "/",
			wantPath:       "/api/",
			wantRequestURI: "/api/",
		},
		{
			desc:           "trailing slash in the prefix is kept, as in Traefik",
			prefix:         "/api/",
			target:         "/users",
			wantPath:       "/api//users",
			wantRequestURI: "/api//users",
		},
		{
			desc:           "empty path of an absolute-form target",
			prefix:         "/api",
			target:         "http://example.com?q=1",
			wantPath:       "/api",
			wantRequestURI: "/api?q=1",
		},
		{
			desc:           "encoded slash in the path is kept",
			prefix:         "/api",
			target:         "/a%2Fb/c",
			wantPath:       "/api/a/b/c",
			wantRawPath:    "/api/a%2Fb/c",
			wantRequestURI: "/api/a%2Fb/c",
		},
		{
			desc:           "encoded space in the path needs no RawPath",
			prefix:         "/api",
			target:         "/a%20b",
			wantPath:       "/api/a b",
			wantRequestURI: "/api/a%20b",
		},
		{
			desc:           "prefix with a space is escaped",
			prefix:         "/my api",
			target:         "/x?q=1",
			wantPath:       "/my api/x",
			wantRequestURI: "/my%20api/x?q=1",
		},
		{
			desc:           "prefix with a space and an encoded slash in the path agree",
			prefix:         "/my api",
			target:         "/x%2Fy",
			wantPath:       "/my api/x/y",
			wantRawPath:    "/my%20api/x%2Fy",
			wantRequestURI: "/my%20api/x%2Fy",
		},
		{
			desc:           "percent in the prefix is literal",
			prefix:         "/100%",
			target:         "/x",
			wantPath:       "/100%/x",
			wantRequestURI: "/100%25/x",
		},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			h, got := build(t, &Spec{Prefix: tt.prefix})
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
			if r.RequestURI != origURI || r.URL.Path != origPath || r.URL.RawPath != origRaw {
				t.Errorf("caller's request was modified: %q %q %q", r.RequestURI, r.URL.Path, r.URL.RawPath)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		desc    string
		spec    Spec
		wantErr string
	}{
		{desc: "empty", wantErr: `prefix: required`},
		{desc: "relative prefix is accepted as in Traefik", spec: Spec{Prefix: "api"}},
		{desc: "leading space", spec: Spec{Prefix: " /api"}, wantErr: `prefix: " /api" has surrounding spaces; write "/api"`},
		{desc: "valid", spec: Spec{Prefix: "/api"}},
		{desc: "valid root", spec: Spec{Prefix: "/"}},
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
	if err == nil || !strings.Contains(err.Error(), "addPrefix") {
		t.Errorf("Build = %v, want an error naming addPrefix", err)
	}
}
