package stripprefix

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
	prefixes                  []string
}

func build(t *testing.T, spec *Spec) (http.Handler, *seen) {
	t.Helper()
	got := &seen{}
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.path = r.URL.Path
		got.rawPath = r.URL.RawPath
		got.requestURI = r.RequestURI
		got.prefixes = r.Header.Values(ForwardedPrefixHeader)
	})
	h, err := Factory{}.Build(middleware.BuildContext{}, "test", spec, next)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	return h, got
}

func TestStripPrefix(t *testing.T) {
	tests := []struct {
		desc           string
		prefixes       []string
		target         string
		wantPath       string
		wantRawPath    string
		wantRequestURI string
		wantPrefix     []string
	}{
		{
			desc:           "strips a prefix and keeps the query",
			prefixes:       []string{"/api"},
			target:         "/api/users?id=1",
			wantPath:       "/users",
			wantRequestURI: "/users?id=1",
			wantPrefix:     []string{"/api"},
		},
		{
			desc:           "exact match leaves /",
			prefixes:       []string{"/api"},
			target:         "/api",
			wantPath:       "/",
			wantRequestURI: "/",
			wantPrefix:     []string{"/api"},
		},
		{
			desc:           "prefix with trailing slash leaves an absolute path",
			prefixes:       []string{"/api/"},
			target:         "/api/users",
			wantPath:       "/users",
			wantRequestURI: "/users",
			wantPrefix:     []string{"/api/"},
		},
		{
			desc:           "plain string matching, as in Traefik",
			prefixes:       []string{"/api"},
			target:         "/apiv2/x",
			wantPath:       "/v2/x",
			wantRequestURI: "/v2/x",
			wantPrefix:     []string{"/api"},
		},
		{
			desc:           "first matching prefix wins",
			prefixes:       []string{"/nope", "/a", "/a/b"},
			target:         "/a/b/c",
			wantPath:       "/b/c",
			wantRequestURI: "/b/c",
			wantPrefix:     []string{"/a"},
		},
		{
			desc:           "no match passes the request unchanged",
			prefixes:       []string{"/api"},
			target:         "/web/x?q=1",
			wantPath:       "/web/x",
			wantRequestURI: "/web/x?q=1",
		},
		{
			desc:           "encoded slash after the prefix keeps both forms consistent",
			prefixes:       []string{"/api"},
			target:         "/api/a%2Fb/c",
			wantPath:       "/a/b/c",
			wantRawPath:    "/a%2Fb/c",
			wantRequestURI: "/a%2Fb/c",
			wantPrefix:     []string{"/api"},
		},
		{
			desc:           "encoded slash right after the prefix",
			prefixes:       []string{"/a"},
			target:         "/a%2Fb",
			wantPath:       "//b",
			wantRawPath:    "/%2Fb",
			wantRequestURI: "/%2Fb",
			wantPrefix:     []string{"/a"},
		},
		{
			desc:           "prefix given decoded matches an encoded path",
			prefixes:       []string{"/my api"},
			target:         "/my%20api/x%2Fy",
			wantPath:       "/x/y",
			wantRawPath:    "/x%2Fy",
			wantRequestURI: "/x%2Fy",
			wantPrefix:     []string{"/my api"},
		},
		{
			desc:           "encoded space without RawPath",
			prefixes:       []string{"/api"},
			target:         "/api/a%20b",
			wantPath:       "/a b",
			wantRequestURI: "/a%20b",
			wantPrefix:     []string{"/api"},
		},
		{
			desc:           "needlessly escaped prefix becomes default escaping",
			prefixes:       []string{"/api"},
			target:         "/%61pi/x",
			wantPath:       "/x",
			wantRequestURI: "/x",
			wantPrefix:     []string{"/api"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			h, got := build(t, &Spec{Prefixes: tt.prefixes})
			r := httptest.NewRequest(http.MethodGet, tt.target, nil)
			origURI, origPath := r.RequestURI, r.URL.Path
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
			if strings.Join(got.prefixes, ",") != strings.Join(tt.wantPrefix, ",") {
				t.Errorf("X-Forwarded-Prefix = %q, want %q", got.prefixes, tt.wantPrefix)
			}
			if r.RequestURI != origURI || r.URL.Path != origPath || r.Header.Get(ForwardedPrefixHeader) != "" {
				t.Errorf("caller's request was modified: %q %q %v", r.RequestURI, r.URL.Path, r.Header)
			}
		})
	}
}

func TestStripPrefixAppendsToExistingHeader(t *testing.T) {
	h, got := build(t, &Spec{Prefixes: []string{"/b"}})
	r := httptest.NewRequest(http.MethodGet, "/b/c", nil)
	r.Header.Set(ForwardedPrefixHeader, "/a")
	h.ServeHTTP(httptest.NewRecorder(), r)
	if strings.Join(got.prefixes, ",") != "/a,/b" {
		t.Errorf("X-Forwarded-Prefix = %q, want [/a /b] (added, as Traefik does)", got.prefixes)
	}
	if v := r.Header.Values(ForwardedPrefixHeader); len(v) != 1 {
		t.Errorf("caller's header modified: %q", v)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		desc    string
		spec    Spec
		wantErr string
	}{
		{desc: "empty", spec: Spec{}, wantErr: "at least one prefix"},
		{desc: "relative prefix", spec: Spec{Prefixes: []string{"/ok", "api"}}, wantErr: `prefixes: "api" must start with "/"`},
		{desc: "empty prefix", spec: Spec{Prefixes: []string{""}}, wantErr: `prefixes: "" must start with "/"`},
		{desc: "valid", spec: Spec{Prefixes: []string{"/api", " /web "}, ForceSlash: true}},
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
		})
	}
}
