package headers

import (
	"bufio"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/berthproxy/berth/pkg/middleware"
)

const absent = "<absent>"

func TestHeaders(t *testing.T) {
	tests := []struct {
		desc string
		spec Spec
		// Request.
		method    string
		target    string
		reqHdr    map[string]string
		plainHTTP bool
		// What the backend sets on its response.
		backendHdr map[string]string
		// Expectations.
		wantStatus  int
		wantNext    bool
		wantResp    map[string]string // absent: must not be there
		wantReq     map[string]string // as seen by the backend; absent: removed
		wantReqHost string
	}{
		{
			desc:     "custom request headers set and remove",
			spec:     Spec{CustomRequestHeaders: map[string]string{"x-script-name": "test", "X-Remove": ""}},
			reqHdr:   map[string]string{"X-Remove": "secret", "X-Keep": "1"},
			wantNext: true,
			wantReq:  map[string]string{"X-Script-Name": "test", "X-Remove": absent, "X-Keep": "1"},
		},
		{
			desc:        "custom request header Host sets the request host",
			spec:        Spec{CustomRequestHeaders: map[string]string{"Host": "backend.internal"}},
			wantNext:    true,
			wantReqHost: "backend.internal",
		},
		{
			desc:       "custom response headers override and remove the backend's",
			spec:       Spec{CustomResponseHeaders: map[string]string{"X-Custom": "v", "Server": "", "x-powered-by": ""}},
			backendHdr: map[string]string{"Server": "nginx", "X-Powered-By": "php", "X-Custom": "backend"},
			wantNext:   true,
			wantResp:   map[string]string{"X-Custom": "v", "Server": absent, "X-Powered-By": absent},
		},
		{
			desc:     "frameDeny",
			spec:     Spec{FrameDeny: true},
			wantNext: true,
			wantResp: map[string]string{"X-Frame-Options": "DENY"},
		},
		{
			desc:     "customFrameOptionsValue wins over frameDeny",
			spec:     Spec{FrameDeny: true, CustomFrameOptionsValue: "SAMEORIGIN"},
			wantNext: true,
			wantResp: map[string]string{"X-Frame-Options": "SAMEORIGIN"},
		},
		{
			desc:       "contentTypeNosniff overrides the backend",
			spec:       Spec{ContentTypeNosniff: true},
			backendHdr: map[string]string{"X-Content-Type-Options": "other"},
			wantNext:   true,
			wantResp:   map[string]string{"X-Content-Type-Options": "nosniff"},
		},
		{
			desc:     "browserXssFilter",
			spec:     Spec{BrowserXSSFilter: true},
			wantNext: true,
			wantResp: map[string]string{"X-XSS-Protection": "1; mode=block"},
		},
		{
			desc:     "customBrowserXSSValue",
			spec:     Spec{BrowserXSSFilter: true, CustomBrowserXSSValue: "0"},
			wantNext: true,
			wantResp: map[string]string{"X-XSS-Protection": "0"},
		},
		{
			desc: "policies",
			spec: Spec{
				ContentSecurityPolicy:           "default-src 'self'",
				ContentSecurityPolicyReportOnly: "script-src 'none'",
				ReferrerPolicy:                  "no-referrer",
				PermissionsPolicy:               "camera=()",
			},
			wantNext: true,
			wantResp: map[string]string{
				"Content-Security-Policy":             "default-src 'self'",
				"Content-Security-Policy-Report-Only": "script-src 'none'",
				"Referrer-Policy":                     "no-referrer",
				"Permissions-Policy":                  "camera=()",
			},
		},
		{
			desc:     "custom response header can remove a security header",
			spec:     Spec{FrameDeny: true, CustomResponseHeaders: map[string]string{"X-Frame-Options": ""}},
			wantNext: true,
			wantResp: map[string]string{"X-Frame-Options": absent},
		},
		{
			desc:     "STS on https",
			spec:     Spec{STSSeconds: 31536000, STSIncludeSubdomains: true, STSPreload: true},
			target:   "https://example.com/",
			wantNext: true,
			wantResp: map[string]string{"Strict-Transport-Security": "max-age=31536000; includeSubDomains; preload"},
		},
		{
			desc:      "no STS on plain http",
			spec:      Spec{STSSeconds: 60},
			plainHTTP: true,
			wantNext:  true,
			wantResp:  map[string]string{"Strict-Transport-Security": absent},
		},
		{
			desc:      "STS on plain http when forced",
			spec:      Spec{STSSeconds: 60, ForceSTSHeader: true},
			plainHTTP: true,
			wantNext:  true,
			wantResp:  map[string]string{"Strict-Transport-Security": "max-age=60"},
		},
		{
			desc:      "STS when sslProxyHeaders says https",
			spec:      Spec{STSSeconds: 60, SSLProxyHeaders: map[string]string{"X-Forwarded-Proto": "https"}},
			plainHTTP: true,
			reqHdr:    map[string]string{"X-Forwarded-Proto": "https"},
			wantNext:  true,
			wantResp:  map[string]string{"Strict-Transport-Security": "max-age=60"},
		},
		{
			desc:      "no STS when X-Forwarded-Proto is not in sslProxyHeaders",
			spec:      Spec{STSSeconds: 60},
			plainHTTP: true,
			reqHdr:    map[string]string{"X-Forwarded-Proto": "https"},
			wantNext:  true,
			wantResp:  map[string]string{"Strict-Transport-Security": absent},
		},
		{
			desc:     "no STS in development",
			spec:     Spec{STSSeconds: 60, ForceSTSHeader: true, IsDevelopment: true},
			target:   "https://example.com/",
			wantNext: true,
			wantResp: map[string]string{"Strict-Transport-Security": absent},
		},
		{
			desc:     "publicKey on https",
			spec:     Spec{PublicKey: `pin-sha256="base64=="; max-age=5184000`},
			target:   "https://example.com/",
			wantNext: true,
			wantResp: map[string]string{"Public-Key-Pins": `pin-sha256="base64=="; max-age=5184000`},
		},
		{
			desc:      "no publicKey on plain http",
			spec:      Spec{PublicKey: `pin-sha256="base64=="`},
			plainHTTP: true,
			wantNext:  true,
			wantResp:  map[string]string{"Public-Key-Pins": absent},
		},
		{
			desc:     "allowedHosts lets a listed host through",
			spec:     Spec{AllowedHosts: []string{"example.com"}},
			target:   "http://EXAMPLE.com:8080/",
			wantNext: true,
		},
		{
			desc:       "allowedHosts refuses another host",
			spec:       Spec{AllowedHosts: []string{"example.com"}},
			target:     "http://evil.com/",
			wantStatus: http.StatusBadRequest,
		},
		{
			desc:     "allowedHosts uses hostsProxyHeaders",
			spec:     Spec{AllowedHosts: []string{"example.com"}, HostsProxyHeaders: []string{"X-Forwarded-Host"}},
			target:   "http://internal/",
			reqHdr:   map[string]string{"X-Forwarded-Host": "example.com"},
			wantNext: true,
		},
		{
			desc:       "allowedHosts refuses a foreign proxy host",
			spec:       Spec{AllowedHosts: []string{"example.com"}, HostsProxyHeaders: []string{"X-Forwarded-Host"}},
			target:     "http://example.com/",
			reqHdr:     map[string]string{"X-Forwarded-Host": "evil.com"},
			wantStatus: http.StatusBadRequest,
		},
		{
			desc:     "allowedHosts is off in development",
			spec:     Spec{AllowedHosts: []string{"example.com"}, IsDevelopment: true},
			target:   "http://evil.com/",
			wantNext: true,
		},
		{
			desc:       "allowedHosts is checked before a preflight is answered",
			spec:       Spec{AllowedHosts: []string{"example.com"}, AccessControlAllowOriginList: []string{"*"}},
			method:     http.MethodOptions,
			target:     "http://evil.com/",
			reqHdr:     map[string]string{"Origin": "https://a.com", "Access-Control-Request-Method": "GET"},
			wantStatus: http.StatusBadRequest,
		},
		{
			desc: "CORS preflight from an allowed origin",
			spec: Spec{
				AccessControlAllowOriginList:  []string{"https://a.com", "https://b.com"},
				AccessControlAllowMethods:     []string{"GET", "POST"},
				AccessControlAllowHeaders:     []string{"Content-Type", "X-Token"},
				AccessControlAllowCredentials: true,
				AccessControlMaxAge:           100,
				AddVaryHeader:                 true,
			},
			method:     http.MethodOptions,
			reqHdr:     map[string]string{"Origin": "https://b.com", "Access-Control-Request-Method": "POST"},
			wantStatus: http.StatusOK,
			wantResp: map[string]string{
				"Access-Control-Allow-Origin":      "https://b.com",
				"Access-Control-Allow-Methods":     "GET,POST",
				"Access-Control-Allow-Headers":     "Content-Type,X-Token",
				"Access-Control-Allow-Credentials": "true",
				"Access-Control-Max-Age":           "100",
				"Vary":                             "Origin",
			},
		},
		{
			desc:       "CORS preflight from an origin matched by a regexp",
			spec:       Spec{AccessControlAllowOriginListRegex: []string{`^https://[a-z]+\.example\.com$`}, AccessControlAllowMethods: []string{"GET"}},
			method:     http.MethodOptions,
			reqHdr:     map[string]string{"Origin": "https://shop.example.com", "Access-Control-Request-Method": "GET"},
			wantStatus: http.StatusOK,
			wantResp:   map[string]string{"Access-Control-Allow-Origin": "https://shop.example.com", "Access-Control-Allow-Methods": "GET"},
		},
		{
			desc:       "CORS preflight with a wildcard",
			spec:       Spec{AccessControlAllowOriginList: []string{"*"}},
			method:     http.MethodOptions,
			reqHdr:     map[string]string{"Origin": "https://any.com", "Access-Control-Request-Method": "GET"},
			wantStatus: http.StatusOK,
			wantResp:   map[string]string{"Access-Control-Allow-Origin": "*", "Access-Control-Max-Age": "0"},
		},
		{
			desc: "CORS preflight from a denied origin gets no CORS headers",
			spec: Spec{
				AccessControlAllowOriginList:      []string{"https://a.com"},
				AccessControlAllowOriginListRegex: []string{`^https://[a-z]+\.example\.com$`},
				AccessControlAllowMethods:         []string{"GET"},
			},
			method:     http.MethodOptions,
			reqHdr:     map[string]string{"Origin": "https://evil.example.com.attacker.net", "Access-Control-Request-Method": "GET"},
			wantStatus: http.StatusOK,
			wantResp:   map[string]string{"Access-Control-Allow-Origin": absent, "Access-Control-Allow-Methods": absent},
		},
		{
			desc:     "OPTIONS without Access-Control-Request-Method goes to the backend",
			spec:     Spec{AccessControlAllowOriginList: []string{"https://a.com"}},
			method:   http.MethodOptions,
			reqHdr:   map[string]string{"Origin": "https://a.com"},
			wantNext: true,
			wantResp: map[string]string{"Access-Control-Allow-Origin": "https://a.com"},
		},
		{
			desc:     "preflight is passed on when no CORS option is set",
			spec:     Spec{FrameDeny: true},
			method:   http.MethodOptions,
			reqHdr:   map[string]string{"Origin": "https://a.com", "Access-Control-Request-Method": "GET"},
			wantNext: true,
		},
		{
			desc: "CORS headers on an actual request from an allowed origin",
			spec: Spec{
				AccessControlAllowOriginList:  []string{"https://a.com"},
				AccessControlExposeHeaders:    []string{"X-Total", "X-Page"},
				AccessControlAllowCredentials: true,
				AddVaryHeader:                 true,
			},
			reqHdr:     map[string]string{"Origin": "https://a.com"},
			backendHdr: map[string]string{"Vary": "Accept-Encoding"},
			wantNext:   true,
			wantResp: map[string]string{
				"Access-Control-Allow-Origin":      "https://a.com",
				"Access-Control-Expose-Headers":    "X-Total,X-Page",
				"Access-Control-Allow-Credentials": "true",
				"Vary":                             "Accept-Encoding,Origin",
			},
		},
		{
			desc:       "Vary: Origin is not repeated",
			spec:       Spec{AccessControlAllowOriginList: []string{"https://a.com"}, AddVaryHeader: true},
			reqHdr:     map[string]string{"Origin": "https://b.com"},
			backendHdr: map[string]string{"Vary": "Accept, origin"},
			wantNext:   true,
			wantResp:   map[string]string{"Vary": "Accept, origin", "Access-Control-Allow-Origin": absent},
		},
		{
			desc:     "no Allow-Origin for a denied origin on an actual request",
			spec:     Spec{AccessControlAllowOriginList: []string{"https://a.com"}},
			reqHdr:   map[string]string{"Origin": "https://b.com"},
			wantNext: true,
			wantResp: map[string]string{"Access-Control-Allow-Origin": absent},
		},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			var gotReq *http.Request
			next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				gotReq = r
				for k, v := range tt.backendHdr {
					w.Header().Set(k, v)
				}
				w.WriteHeader(http.StatusTeapot)
				_, _ = w.Write([]byte("body"))
			})
			h, err := Factory{}.Build(middleware.BuildContext{}, "h", &tt.spec, next)
			if err != nil {
				t.Fatalf("Build: %v", err)
			}
			method, target := tt.method, tt.target
			if method == "" {
				method = http.MethodGet
			}
			if target == "" {
				target = "http://example.com/path"
			}
			r := httptest.NewRequest(method, target, nil)
			if tt.plainHTTP {
				r.TLS = nil
			}
			for k, v := range tt.reqHdr {
				r.Header.Set(k, v)
			}
			before := r.Header.Clone()
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)

			if tt.wantNext != (gotReq != nil) {
				t.Fatalf("backend called = %v, want %v (status %d)", gotReq != nil, tt.wantNext, rec.Code)
			}
			wantStatus := tt.wantStatus
			if tt.wantNext {
				wantStatus = http.StatusTeapot
			}
			if rec.Code != wantStatus {
				t.Errorf("status = %d, want %d", rec.Code, wantStatus)
			}
			for k, want := range tt.wantResp {
				got := strings.Join(rec.Header().Values(k), ",")
				if want == absent && got != "" {
					t.Errorf("response %s = %q, want it absent", k, got)
				} else if want != absent && got != want {
					t.Errorf("response %s = %q, want %q", k, got, want)
				}
			}
			for k, want := range tt.wantReq {
				got := strings.Join(gotReq.Header.Values(k), ",")
				if want == absent && got != "" {
					t.Errorf("request %s = %q, want it removed", k, got)
				} else if want != absent && got != want {
					t.Errorf("request %s = %q, want %q", k, got, want)
				}
			}
			if tt.wantReqHost != "" && gotReq.Host != tt.wantReqHost {
				t.Errorf("request Host = %q, want %q", gotReq.Host, tt.wantReqHost)
			}
			if len(before) != len(r.Header) {
				t.Errorf("caller's request headers changed: %v -> %v", before, r.Header)
			}
		})
	}
}

// TestImplicitWrite checks that headers reach a response whose handler
// writes nothing (the server then sends 200 itself).
func TestImplicitWrite(t *testing.T) {
	h, err := Factory{}.Build(middleware.BuildContext{}, "h", &Spec{FrameDeny: true}, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if got := rec.Header().Get("X-Frame-Options"); got != "DENY" {
		t.Errorf("X-Frame-Options = %q, want DENY", got)
	}
}

// TestEarlyHints checks that a 103 does not consume the final header.
func TestEarlyHints(t *testing.T) {
	var sawBefore103 string
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</a.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		sawBefore103 = w.Header().Get("X-Frame-Options")
		w.WriteHeader(http.StatusOK)
	})
	h, err := Factory{}.Build(middleware.BuildContext{}, "h", &Spec{FrameDeny: true}, next)
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if sawBefore103 != "" {
		t.Errorf("headers applied on 103")
	}
	if got := rec.Header().Get("X-Frame-Options"); got != "DENY" {
		t.Errorf("X-Frame-Options = %q, want DENY", got)
	}
}

// hijackRecorder is an httptest.ResponseRecorder that can be hijacked,
// standing in for an HTTP/1 connection.
type hijackRecorder struct {
	*httptest.ResponseRecorder
	hijacked bool
	flushed  bool
}

func (h *hijackRecorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	h.hijacked = true
	c1, c2 := net.Pipe()
	_ = c2.Close()
	return c1, bufio.NewReadWriter(bufio.NewReader(c1), bufio.NewWriter(c1)), nil
}

func (h *hijackRecorder) Flush() { h.flushed = true; h.ResponseRecorder.Flush() }

func TestWrapperKeepsFlusherAndHijacker(t *testing.T) {
	tests := []struct {
		desc string
		use  func(t *testing.T, w http.ResponseWriter)
		// check runs on the recorder after the request.
		check func(t *testing.T, rec *hijackRecorder)
	}{
		{
			desc: "type assertion to http.Flusher",
			use: func(t *testing.T, w http.ResponseWriter) {
				f, ok := w.(http.Flusher)
				if !ok {
					t.Fatal("not an http.Flusher")
				}
				f.Flush()
			},
			check: func(t *testing.T, rec *hijackRecorder) {
				if !rec.flushed {
					t.Error("Flush did not reach the underlying writer")
				}
			},
		},
		{
			desc: "type assertion to http.Hijacker",
			use: func(t *testing.T, w http.ResponseWriter) {
				hj, ok := w.(http.Hijacker)
				if !ok {
					t.Fatal("not an http.Hijacker")
				}
				c, _, err := hj.Hijack()
				if err != nil {
					t.Fatal(err)
				}
				_ = c.Close()
			},
			check: func(t *testing.T, rec *hijackRecorder) {
				if !rec.hijacked {
					t.Error("Hijack did not reach the underlying writer")
				}
			},
		},
		{
			desc: "http.ResponseController hijacks, as the reverse proxy does for WebSocket",
			use: func(t *testing.T, w http.ResponseWriter) {
				c, _, err := http.NewResponseController(w).Hijack()
				if err != nil {
					t.Fatal(err)
				}
				_ = c.Close()
			},
			check: func(t *testing.T, rec *hijackRecorder) {
				if !rec.hijacked {
					t.Error("Hijack did not reach the underlying writer")
				}
			},
		},
		{
			desc: "http.ResponseController flushes",
			use: func(t *testing.T, w http.ResponseWriter) {
				if err := http.NewResponseController(w).Flush(); err != nil {
					t.Fatal(err)
				}
			},
			check: func(t *testing.T, rec *hijackRecorder) {
				if !rec.flushed {
					t.Error("Flush did not reach the underlying writer")
				}
			},
		},
		{
			desc: "Unwrap returns the underlying writer",
			use: func(t *testing.T, w http.ResponseWriter) {
				u, ok := w.(interface{ Unwrap() http.ResponseWriter })
				if !ok {
					t.Fatal("no Unwrap method")
				}
				if _, ok := u.Unwrap().(*hijackRecorder); !ok {
					t.Errorf("Unwrap() = %T", u.Unwrap())
				}
			},
			check: func(*testing.T, *hijackRecorder) {},
		},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			var wrapped bool
			next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, wrapped = w.(*responseWriter)
				tt.use(t, w)
			})
			h, err := Factory{}.Build(middleware.BuildContext{}, "h", &Spec{FrameDeny: true}, next)
			if err != nil {
				t.Fatal(err)
			}
			rec := &hijackRecorder{ResponseRecorder: httptest.NewRecorder()}
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
			if !wrapped {
				t.Fatal("the writer was not wrapped; the test proves nothing")
			}
			tt.check(t, rec)
			if got := rec.Header().Get("X-Frame-Options"); got != "DENY" {
				t.Errorf("X-Frame-Options = %q, want DENY (applied before flush/hijack)", got)
			}
		})
	}
}

func TestNoWrapperWhenNothingToSet(t *testing.T) {
	tests := []struct {
		desc      string
		spec      Spec
		plainHTTP bool
	}{
		{desc: "request headers only", spec: Spec{CustomRequestHeaders: map[string]string{"X-A": "1"}}},
		{desc: "allowedHosts only", spec: Spec{AllowedHosts: []string{"example.com"}}},
		{desc: "STS on plain http", spec: Spec{STSSeconds: 60}, plainHTTP: true},
		{desc: "CORS without an allowed origin", spec: Spec{AccessControlAllowOriginList: []string{"https://a.com"}}},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			rec := httptest.NewRecorder()
			next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if w != http.ResponseWriter(rec) {
					t.Errorf("writer wrapped in %T", w)
				}
			})
			h, err := Factory{}.Build(middleware.BuildContext{}, "h", &tt.spec, next)
			if err != nil {
				t.Fatal(err)
			}
			r := httptest.NewRequest(http.MethodGet, "http://example.com/", nil)
			if tt.plainHTTP {
				r.TLS = nil
			}
			h.ServeHTTP(rec, r)
		})
	}
}

func TestHTTPSRequestSetsTLS(t *testing.T) {
	// Guard for the table above: httptest.NewRequest fills TLS for
	// https targets, which the STS cases rely on.
	if httptest.NewRequest(http.MethodGet, "https://example.com/", nil).TLS == nil {
		t.Fatal("httptest no longer sets TLS for https targets")
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		desc    string
		spec    Spec
		wantErr string
	}{
		{desc: "empty", wantErr: "no option is set"},
		{desc: "bad header name", spec: Spec{CustomRequestHeaders: map[string]string{"X Bad": "v"}}, wantErr: `customRequestHeaders: "X Bad" is not a valid header name`},
		{desc: "line break in value", spec: Spec{CustomResponseHeaders: map[string]string{"X-A": "a\r\nSet-Cookie: x"}}, wantErr: `customResponseHeaders: the value of "X-A" contains a control character`},
		{desc: "same header twice", spec: Spec{CustomResponseHeaders: map[string]string{"X-A": "1", "x-a": "2"}}, wantErr: "name the same header"},
		{desc: "bad regexp", spec: Spec{AccessControlAllowOriginListRegex: []string{"("}}, wantErr: `accessControlAllowOriginListRegex: "("`},
		{desc: "negative max age", spec: Spec{AccessControlMaxAge: -1}, wantErr: "accessControlMaxAge: -1 is negative"},
		{desc: "negative sts", spec: Spec{STSSeconds: -1}, wantErr: "stsSeconds: -1 is negative"},
		{desc: "bad method", spec: Spec{AccessControlAllowMethods: []string{"GET POST"}}, wantErr: `accessControlAllowMethods: "GET POST"`},
		{desc: "bad allowed host", spec: Spec{AllowedHosts: []string{"https://example.com/"}}, wantErr: `allowedHosts: "https://example.com/"`},
		{desc: "bad policy value", spec: Spec{ContentSecurityPolicy: "a\nb"}, wantErr: "contentSecurityPolicy: the value contains a control character"},
		{desc: "valid", spec: Spec{FrameDeny: true, CustomRequestHeaders: map[string]string{"X-A": ""}}},
		{desc: "isDevelopment alone is accepted, as in Traefik", spec: Spec{IsDevelopment: true}},
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
