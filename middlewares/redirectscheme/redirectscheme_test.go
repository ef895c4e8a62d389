package redirectscheme

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/berthproxy/berth/pkg/middleware"
)

func TestRedirectScheme(t *testing.T) {
	tests := []struct {
		desc         string
		spec         Spec
		method       string
		target       string
		host         string
		tls          bool
		xfProto      string
		wantStatus   int // 0: passed to next
		wantLocation string
	}{
		{
			desc:         "http to https",
			spec:         Spec{Scheme: "https"},
			target:       "http://example.com/a/b?x=1&y=2",
			wantStatus:   http.StatusFound,
			wantLocation: "https://example.com/a/b?x=1&y=2",
		},
		{
			desc:         "http to https drops the old port",
			spec:         Spec{Scheme: "https"},
			target:       "http://example.com:8080/",
			wantStatus:   http.StatusFound,
			wantLocation: "https://example.com/",
		},
		{
			desc:         "http to https with a port",
			spec:         Spec{Scheme: "https", Port: "8443"},
			target:       "http://example.com:8080/p",
			wantStatus:   http.StatusFound,
			wantLocation: "https://example.com:8443/p",
		},
		{
			desc:         "default port is left out of Location",
			spec:         Spec{Scheme: "https", Port: "443"},
			target:       "http://example.com/p",
			wantStatus:   http.StatusFound,
			wantLocation: "https://example.com/p",
		},
		{
			desc:   "https request is not redirected",
			spec:   Spec{Scheme: "https"},
			target: "https://example.com/p",
			tls:    true,
		},
		{
			desc:   "https on another port is not redirected when no port is configured",
			spec:   Spec{Scheme: "https"},
			target: "https://example.com:8443/p",
			tls:    true,
		},
		{
			desc:   "https on the configured port is not redirected",
			spec:   Spec{Scheme: "https", Port: "8443"},
			target: "https://example.com:8443/p",
			tls:    true,
		},
		{
			desc:         "https on another port is redirected when a port is configured",
			spec:         Spec{Scheme: "https", Port: "8443"},
			target:       "https://example.com/p",
			tls:          true,
			wantStatus:   http.StatusFound,
			wantLocation: "https://example.com:8443/p",
		},
		{
			desc:    "X-Forwarded-Proto https is not redirected",
			spec:    Spec{Scheme: "https"},
			target:  "http://example.com/p",
			xfProto: "https",
		},
		{
			desc:    "X-Forwarded-Proto wss counts as https",
			spec:    Spec{Scheme: "https"},
			target:  "http://example.com/ws",
			xfProto: "wss",
		},
		{
			desc:         "X-Forwarded-Proto http is redirected",
			spec:         Spec{Scheme: "https"},
			target:       "http://example.com/p",
			xfProto:      "http",
			wantStatus:   http.StatusFound,
			wantLocation: "https://example.com/p",
		},
		{
			desc:         "permanent GET is 301",
			spec:         Spec{Scheme: "https", Permanent: true},
			target:       "http://example.com/",
			wantStatus:   http.StatusMovedPermanently,
			wantLocation: "https://example.com/",
		},
		{
			desc:         "permanent HEAD is 301",
			spec:         Spec{Scheme: "https", Permanent: true},
			method:       http.MethodHead,
			target:       "http://example.com/",
			wantStatus:   http.StatusMovedPermanently,
			wantLocation: "https://example.com/",
		},
		{
			desc:         "permanent POST is 308",
			spec:         Spec{Scheme: "https", Permanent: true},
			method:       http.MethodPost,
			target:       "http://example.com/form",
			wantStatus:   http.StatusPermanentRedirect,
			wantLocation: "https://example.com/form",
		},
		{
			desc:         "temporary PUT is 307",
			spec:         Spec{Scheme: "https"},
			method:       http.MethodPut,
			target:       "http://example.com/x",
			wantStatus:   http.StatusTemporaryRedirect,
			wantLocation: "https://example.com/x",
		},
		{
			desc:         "https to http",
			spec:         Spec{Scheme: "http"},
			target:       "https://example.com/x",
			tls:          true,
			wantStatus:   http.StatusFound,
			wantLocation: "http://example.com/x",
		},
		{
			desc:         "IPv6 host with port",
			spec:         Spec{Scheme: "https", Port: "8443"},
			target:       "http://[::1]:8080/x",
			wantStatus:   http.StatusFound,
			wantLocation: "https://[::1]:8443/x",
		},
		{
			desc:         "IPv6 host without port",
			spec:         Spec{Scheme: "https"},
			target:       "http://[::1]:8080/x",
			wantStatus:   http.StatusFound,
			wantLocation: "https://[::1]/x",
		},
		{
			desc:         "encoded path is kept as sent",
			spec:         Spec{Scheme: "https"},
			target:       "http://example.com/a%2Fb/c%20d?q=%41",
			wantStatus:   http.StatusFound,
			wantLocation: "https://example.com/a%2Fb/c%20d?q=%41",
		},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			passed := false
			next := http.HandlerFunc(func(http.ResponseWriter, *http.Request) { passed = true })
			h, err := Factory{}.Build(middleware.BuildContext{}, "r", &tt.spec, next)
			if err != nil {
				t.Fatalf("Build: %v", err)
			}
			method := tt.method
			if method == "" {
				method = http.MethodGet
			}
			r := httptest.NewRequest(method, tt.target, nil)
			if !tt.tls {
				r.TLS = nil
			} else if r.TLS == nil {
				r.TLS = &tls.ConnectionState{}
			}
			if tt.xfProto != "" {
				r.Header.Set("X-Forwarded-Proto", tt.xfProto)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)

			if tt.wantStatus == 0 {
				if !passed {
					t.Fatalf("redirected with %d to %q, want passed to next", rec.Code, rec.Header().Get("Location"))
				}
				return
			}
			if passed {
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

func TestValidate(t *testing.T) {
	tests := []struct {
		desc    string
		spec    Spec
		wantErr string
	}{
		{desc: "empty", wantErr: "scheme: required"},
		{desc: "bad scheme", spec: Spec{Scheme: "https://"}, wantErr: `scheme: "https://" is not a URL scheme`},
		{desc: "bad port", spec: Spec{Scheme: "https", Port: "443x"}, wantErr: `port: "443x"`},
		{desc: "port out of range", spec: Spec{Scheme: "https", Port: "70000"}, wantErr: `port: "70000"`},
		{desc: "valid", spec: Spec{Scheme: "https", Port: "8443", Permanent: true}},
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
