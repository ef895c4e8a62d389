package redirectregex

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/berthproxy/berth/pkg/middleware"
)

func TestRedirectRegex(t *testing.T) {
	tests := []struct {
		desc         string
		spec         Spec
		method       string
		target       string
		host         string // overrides the Host the target gives
		tls          bool
		xfProto      string
		wantStatus   int // 0: passed to next
		wantLocation string
	}{
		{
			desc:         "domain replacement, as in Traefik's docs",
			spec:         Spec{Regex: "^http://localhost/(.*)", Replacement: "http://mydomain/${1}"},
			target:       "http://localhost/foo/bar?x=1&y=2",
			wantStatus:   http.StatusFound,
			wantLocation: "http://mydomain/foo/bar?x=1&y=2",
		},
		{
			desc:         "origin-form target uses the Host header",
			spec:         Spec{Regex: "^http://old\\.example\\.com/(.*)", Replacement: "https://new.example.com/$1"},
			target:       "/p?q=1",
			host:         "old.example.com",
			wantStatus:   http.StatusFound,
			wantLocation: "https://new.example.com/p?q=1",
		},
		{
			desc:   "no match passes the request on",
			spec:   Spec{Regex: "^http://localhost/(.*)", Replacement: "http://mydomain/${1}"},
			target: "http://example.com/foo",
		},
		{
			desc:         "http to https",
			spec:         Spec{Regex: "^http://(.*)$", Replacement: "https://${1}"},
			target:       "http://example.com/a",
			wantStatus:   http.StatusFound,
			wantLocation: "https://example.com/a",
		},
		{
			desc:   "TLS request is matched as https",
			spec:   Spec{Regex: "^http://(.*)$", Replacement: "https://${1}"},
			target: "https://example.com/a",
			tls:    true,
		},
		{
			desc:    "X-Forwarded-Proto https is matched as https",
			spec:    Spec{Regex: "^http://(.*)$", Replacement: "https://${1}"},
			target:  "http://example.com/a",
			xfProto: "https",
		},
		{
			desc:    "X-Forwarded-Proto wss counts as https",
			spec:    Spec{Regex: "^http://(.*)$", Replacement: "https://${1}"},
			target:  "http://example.com/ws",
			xfProto: "wss",
		},
		{
			desc:         "X-Forwarded-Proto http is matched as http",
			spec:         Spec{Regex: "^http://(.*)$", Replacement: "https://${1}"},
			target:       "http://example.com/a",
			xfProto:      "http",
			wantStatus:   http.StatusFound,
			wantLocation: "https://example.com/a",
		},
		{
			desc:         "port is part of the matched URL",
			spec:         Spec{Regex: "^http://([^:/]+):8080/(.*)", Replacement: "https://${1}:8443/${2}"},
			target:       "http://example.com:8080/p",
			wantStatus:   http.StatusFound,
			wantLocation: "https://example.com:8443/p",
		},
		{
			desc:         "IPv6 host",
			spec:         Spec{Regex: `^http://\[::1\]:8080/(.*)`, Replacement: "https://[::1]/${1}"},
			target:       "http://[::1]:8080/x",
			wantStatus:   http.StatusFound,
			wantLocation: "https://[::1]/x",
		},
		{
			desc:         "query is part of the matched URL",
			spec:         Spec{Regex: `^(.*)/old\?(.*)$`, Replacement: "${1}/new?${2}"},
			target:       "http://example.com/old?a=1&b=%41",
			wantStatus:   http.StatusFound,
			wantLocation: "http://example.com/new?a=1&b=%41",
		},
		{
			desc:         "empty query is kept",
			spec:         Spec{Regex: `/old`, Replacement: "/new"},
			target:       "http://example.com/old?",
			wantStatus:   http.StatusFound,
			wantLocation: "http://example.com/new?",
		},
		{
			desc:         "encoded path and query are matched and kept as sent",
			spec:         Spec{Regex: "^http://old\\.com/(.*)", Replacement: "http://new.com/${1}"},
			target:       "http://old.com/a%2Fb/c%20d?q=%41",
			wantStatus:   http.StatusFound,
			wantLocation: "http://new.com/a%2Fb/c%20d?q=%41",
		},
		{
			desc:   "encoded slash is not a slash",
			spec:   Spec{Regex: "^http://old\\.com/a/b", Replacement: "http://new.com/"},
			target: "http://old.com/a%2Fb",
		},
		{
			desc:         "space in the replacement is escaped in Location",
			spec:         Spec{Regex: "^(.*)/x$", Replacement: "${1}/a b"},
			target:       "http://example.com/x",
			wantStatus:   http.StatusFound,
			wantLocation: "http://example.com/a%20b",
		},
		{
			desc:         "relative replacement",
			spec:         Spec{Regex: "^.*/old$", Replacement: "/new"},
			target:       "http://example.com/old",
			wantStatus:   http.StatusFound,
			wantLocation: "/new",
		},
		{
			desc:         "empty replacement removes the match",
			spec:         Spec{Regex: "/old"},
			target:       "http://example.com/old/x",
			wantStatus:   http.StatusFound,
			wantLocation: "http://example.com/x",
		},
		{
			desc:   "match that changes nothing passes the request on",
			spec:   Spec{Regex: "^http://example\\.com/(.*)", Replacement: "http://example.com/${1}"},
			target: "http://example.com/x",
		},
		{
			desc:         "permanent GET is 301",
			spec:         Spec{Regex: "^http://a/", Replacement: "http://b/", Permanent: true},
			target:       "http://a/",
			wantStatus:   http.StatusMovedPermanently,
			wantLocation: "http://b/",
		},
		{
			desc:         "permanent HEAD is 301",
			spec:         Spec{Regex: "^http://a/", Replacement: "http://b/", Permanent: true},
			method:       http.MethodHead,
			target:       "http://a/",
			wantStatus:   http.StatusMovedPermanently,
			wantLocation: "http://b/",
		},
		{
			desc:         "permanent POST is 308",
			spec:         Spec{Regex: "^http://a/", Replacement: "http://b/", Permanent: true},
			method:       http.MethodPost,
			target:       "http://a/form",
			wantStatus:   http.StatusPermanentRedirect,
			wantLocation: "http://b/form",
		},
		{
			desc:         "temporary HEAD is 302",
			spec:         Spec{Regex: "^http://a/", Replacement: "http://b/"},
			method:       http.MethodHead,
			target:       "http://a/",
			wantStatus:   http.StatusFound,
			wantLocation: "http://b/",
		},
		{
			desc:         "temporary PUT is 307",
			spec:         Spec{Regex: "^http://a/", Replacement: "http://b/"},
			method:       http.MethodPut,
			target:       "http://a/x",
			wantStatus:   http.StatusTemporaryRedirect,
			wantLocation: "http://b/x",
		},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			var passed *http.Request
			next := http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { passed = r })
			h, err := Factory{}.Build(middleware.BuildContext{}, "r", &tt.spec, next)
			if err != nil {
				t.Fatalf("Build: %v", err)
			}
			method := tt.method
			if method == "" {
				method = http.MethodGet
			}
			r := httptest.NewRequest(method, tt.target, nil)
			if tt.host != "" {
				r.Host = tt.host
			}
			if !tt.tls {
				r.TLS = nil
			} else if r.TLS == nil {
				r.TLS = &tls.ConnectionState{}
			}
			if tt.xfProto != "" {
				r.Header.Set("X-Forwarded-Proto", tt.xfProto)
			}
			origURL := *r.URL
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)

			if *r.URL != origURL {
				t.Errorf("caller's URL was modified: %+v", r.URL)
			}
			if tt.wantStatus == 0 {
				if passed == nil {
					t.Fatalf("redirected with %d to %q, want passed to next", rec.Code, rec.Header().Get("Location"))
				}
				if passed != r {
					t.Error("next got a different request")
				}
				return
			}
			if passed != nil {
				t.Fatal("passed to next, want a redirect")
			}
			if rec.Code != tt.wantStatus {
				t.Errorf("status = %d, want %d", rec.Code, tt.wantStatus)
			}
			if got := rec.Header().Get("Location"); got != tt.wantLocation {
				t.Errorf("Location = %q, want %q", got, tt.wantLocation)
			}
			if rec.Body.Len() == 0 || rec.Body.Len() > 100 {
				t.Errorf("body = %q, want a short text", rec.Body.String())
			}
		})
	}
}

func TestRedirectRegexBadLocationIs500(t *testing.T) {
	called := false
	next := http.HandlerFunc(func(http.ResponseWriter, *http.Request) { called = true })
	hh, err := Factory{}.Build(middleware.BuildContext{}, "r", &Spec{Regex: "^http://a/(.*)", Replacement: "http://[::1/${1}"}, next)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	h := hh.(*handler)
	var warned string
	h.warn = func(msg string) { warned = msg }
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "http://a/x", nil))
	if called {
		t.Error("next was called")
	}
	if rec.Code != http.StatusInternalServerError {
		t.Errorf("status = %d, want 500", rec.Code)
	}
	if rec.Header().Get("Location") != "" {
		t.Errorf("Location = %q, want none", rec.Header().Get("Location"))
	}
	if !strings.Contains(warned, `"http://[::1/x"`) {
		t.Errorf("warning = %q, want it to name the rewritten URL", warned)
	}
}

func TestRedirectRegexPassThroughAllocatesNothing(t *testing.T) {
	if raceEnabled() {
		t.Skip("sync.Pool drops items at random under -race; allocations are only counted without it")
	}
	h, err := Factory{}.Build(middleware.BuildContext{}, "r", &Spec{Regex: "^http://localhost/(.*)", Replacement: "http://mydomain/${1}"},
		http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	r := httptest.NewRequest(http.MethodGet, "/some/path?q=1", nil)
	r.Header.Set("X-Forwarded-Proto", "https")
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
		{desc: "empty", wantErr: "regex: required"},
		{desc: "only spaces", spec: Spec{Regex: " ", Replacement: "https://x/"}, wantErr: "regex: required"},
		{desc: "invalid regex", spec: Spec{Regex: "^http://(.*", Replacement: "https://$1"}, wantErr: "regex: error parsing regexp: missing closing ): `^http://(.*`"},
		{desc: "invalid repetition", spec: Spec{Regex: "*x"}, wantErr: "regex: error parsing regexp: missing argument to repetition operator: `*`"},
		{desc: "valid", spec: Spec{Regex: "^http://localhost/(.*)", Replacement: "http://mydomain/${1}", Permanent: true}},
		{desc: "valid without replacement", spec: Spec{Regex: "/old"}},
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
	if err == nil || !strings.Contains(err.Error(), "redirectRegex") {
		t.Errorf("Build = %v, want an error naming redirectRegex", err)
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
