package forwardauth

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/berthproxy/berth/middlewares/internal/labeltest"
	"github.com/berthproxy/berth/pkg/middleware"
	"github.com/berthproxy/berth/pkg/proxy"
)

func init() {
	// This test binary does not import middlewares/all.go.
	middleware.Register(Factory{})
}

// seen is what the auth server received. The auth server's handler runs on
// its own goroutine, hence the lock.
type seen struct {
	mu     sync.Mutex
	calls  int
	method string
	header http.Header
	body   string
}

func (s *seen) record(r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	s.method = r.Method
	s.header = r.Header.Clone()
	s.body = string(b)
}

func (s *seen) get() (calls int, method string, header http.Header, body string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls, s.method, s.header, s.body
}

// authServer starts a loopback auth server answering with answer and
// recording what it receives.
func authServer(t *testing.T, answer http.HandlerFunc) (*httptest.Server, *seen) {
	t.Helper()
	s := &seen{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.record(r)
		answer(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, s
}

func allow(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }

// backendSeen is what the next handler received; it runs on the test's
// goroutine.
type backendSeen struct {
	called bool
	header http.Header
	body   string
}

func backend(got *backendSeen, answer func(w http.ResponseWriter)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.called = true
		got.header = r.Header.Clone()
		b, _ := io.ReadAll(r.Body)
		got.body = string(b)
		if answer != nil {
			answer(w)
		}
		_, _ = w.Write([]byte("backend"))
	})
}

func build(t *testing.T, spec *Spec, next http.Handler) http.Handler {
	t.Helper()
	h, err := Factory{}.Build(middleware.BuildContext{}, "auth@test", spec, next)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	return h
}

func TestForwardAuth(t *testing.T) {
	tests := []struct {
		desc       string
		spec       Spec // Address is set to the auth server's
		auth       http.HandlerFunc
		backend    func(w http.ResponseWriter)
		method     string
		target     string
		body       string
		chunked    bool // send body without a declared length
		reqHeader  http.Header
		remoteAddr string

		wantStatus     int
		wantNext       bool
		wantNextHeader map[string]string // "" means absent
		wantNextBody   string
		wantAuthCalls  int // 0 means 1
		wantAuthMethod string
		wantAuthHeader map[string]string // "" means absent
		wantAuthBody   string
		wantRespHeader map[string][]string // nil value means absent
		wantRespBody   string
		wantLocationOf string // want Location = auth server URL + this
	}{
		{
			desc: "allow copies authResponseHeaders onto the request",
			spec: Spec{AuthResponseHeaders: []string{"x-auth-user", "X-Auth-Groups"}},
			auth: func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("X-Auth-User", "alice")
				w.Header().Add("X-Auth-Groups", "admin")
				w.Header().Add("X-Auth-Groups", "dev")
				w.Header().Set("X-Not-Listed", "x")
			},
			wantStatus:     200,
			wantNext:       true,
			wantNextHeader: map[string]string{"X-Auth-User": "alice", "X-Auth-Groups": "admin,dev", "X-Not-Listed": ""},
			wantRespBody:   "backend",
		},
		{
			desc: "allow replaces a value sent by the client",
			spec: Spec{AuthResponseHeaders: []string{"X-Auth-User"}},
			auth: func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("X-Auth-User", "alice")
			},
			reqHeader:      http.Header{"X-Auth-User": {"admin"}},
			wantStatus:     200,
			wantNext:       true,
			wantNextHeader: map[string]string{"X-Auth-User": "alice"},
		},
		{
			desc:           "client cannot inject a listed header the auth server does not set",
			spec:           Spec{AuthResponseHeaders: []string{"X-Auth-User"}},
			auth:           allow,
			reqHeader:      http.Header{"X-Auth-User": {"admin"}, "X_auth_user": {"admin"}, "X_Auth_User": {"admin"}, "X-Other": {"kept"}},
			wantStatus:     200,
			wantNext:       true,
			wantNextHeader: map[string]string{"X-Auth-User": "", "X_auth_user": "", "X_Auth_User": "", "X-Other": "kept"},
		},
		{
			desc: "client cannot inject a header matching the regex",
			spec: Spec{AuthResponseHeadersRegex: "^X-Auth-"},
			auth: func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("X-Auth-User", "alice")
			},
			reqHeader:      http.Header{"X-Auth-Role": {"admin"}, "X_auth_role": {"admin"}},
			wantStatus:     200,
			wantNext:       true,
			wantNextHeader: map[string]string{"X-Auth-User": "alice", "X-Auth-Role": "", "X_auth_role": ""},
		},
		{
			desc: "regex copies the matching response headers only",
			spec: Spec{AuthResponseHeadersRegex: "^X-Auth-"},
			auth: func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("X-Auth-User", "alice")
				w.Header().Set("X-Auth-Email", "alice@example.com")
				w.Header().Set("X-Other", "x")
			},
			wantStatus:     200,
			wantNext:       true,
			wantNextHeader: map[string]string{"X-Auth-User": "alice", "X-Auth-Email": "alice@example.com", "X-Other": ""},
		},
		{
			desc: "deny 401 passes WWW-Authenticate and body through",
			auth: func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("WWW-Authenticate", `Basic realm="sso"`)
				w.Header().Set("Content-Type", "text/plain")
				w.WriteHeader(http.StatusUnauthorized)
				_, _ = w.Write([]byte("who are you?"))
			},
			wantStatus:     401,
			wantRespHeader: map[string][]string{"Www-Authenticate": {`Basic realm="sso"`}, "Content-Type": {"text/plain"}},
			wantRespBody:   "who are you?",
		},
		{
			desc: "deny 403 with no body",
			auth: func(w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(http.StatusForbidden)
			},
			wantStatus: 403,
		},
		{
			desc: "302 to the login page: Location made absolute, cookies kept",
			auth: func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Location", "/login?rd=https%3A%2F%2Fapp.example%2F")
				w.Header().Add("Set-Cookie", "csrf=1; Path=/; HttpOnly")
				w.Header().Add("Set-Cookie", "state=2")
				w.Header().Set("Connection", "X-Hop")
				w.Header().Set("X-Hop", "dropped")
				w.WriteHeader(http.StatusFound)
			},
			wantStatus:     302,
			wantLocationOf: "/login?rd=https%3A%2F%2Fapp.example%2F",
			wantRespHeader: map[string][]string{"Set-Cookie": {"csrf=1; Path=/; HttpOnly", "state=2"}, "Connection": nil, "X-Hop": nil},
		},
		{
			desc: "preserveLocationHeader keeps a relative Location",
			spec: Spec{PreserveLocationHeader: true},
			auth: func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Location", "/login")
				w.WriteHeader(http.StatusFound)
			},
			wantStatus:     302,
			wantRespHeader: map[string][]string{"Location": {"/login"}},
		},
		{
			desc:   "X-Forwarded-* computed from the request, the client's replaced",
			auth:   allow,
			method: http.MethodPost,
			target: "http://app.example/path/x?q=1",
			reqHeader: http.Header{
				"X-Forwarded-For":    {"203.0.113.9"},
				"X-Forwarded-Host":   {"evil.example"},
				"X-Forwarded-Uri":    {"/admin"},
				"X-Forwarded-Method": {"DELETE"},
				"X-Forwarded-Proto":  {"https"},
				"Authorization":      {"Bearer t"},
			},
			remoteAddr:     "192.0.2.7:4321",
			wantStatus:     200,
			wantNext:       true,
			wantAuthMethod: http.MethodGet,
			wantAuthHeader: map[string]string{
				"X-Forwarded-For":    "192.0.2.7",
				"X-Forwarded-Host":   "app.example",
				"X-Forwarded-Uri":    "/path/x?q=1",
				"X-Forwarded-Method": "POST",
				"X-Forwarded-Proto":  "http",
				"Authorization":      "Bearer t",
			},
		},
		{
			desc:   "trustForwardHeader keeps the request's X-Forwarded-*",
			spec:   Spec{TrustForwardHeader: true},
			auth:   allow,
			target: "http://app.example/path",
			reqHeader: http.Header{
				"X-Forwarded-For":    {"203.0.113.9", "198.51.100.1"},
				"X-Forwarded-Host":   {"public.example"},
				"X-Forwarded-Uri":    {"/orig"},
				"X-Forwarded-Method": {"PUT"},
				"X-Forwarded-Proto":  {"https"},
				"X-Forwarded-Port":   {"443"},
			},
			remoteAddr: "192.0.2.7:4321",
			wantStatus: 200,
			wantNext:   true,
			wantAuthHeader: map[string]string{
				"X-Forwarded-For":    "203.0.113.9, 198.51.100.1, 192.0.2.7",
				"X-Forwarded-Host":   "public.example",
				"X-Forwarded-Uri":    "/orig",
				"X-Forwarded-Method": "PUT",
				"X-Forwarded-Proto":  "https",
				"X-Forwarded-Port":   "443",
			},
		},
		{
			desc:       "trustForwardHeader without X-Forwarded-* computes them",
			spec:       Spec{TrustForwardHeader: true},
			auth:       allow,
			target:     "http://app.example/p",
			remoteAddr: "192.0.2.7:4321",
			wantStatus: 200,
			wantNext:   true,
			wantAuthHeader: map[string]string{
				"X-Forwarded-For":    "192.0.2.7",
				"X-Forwarded-Host":   "app.example",
				"X-Forwarded-Uri":    "/p",
				"X-Forwarded-Method": "GET",
				"X-Forwarded-Proto":  "http",
			},
		},
		{
			desc: "hop-by-hop headers are not sent to the auth server",
			auth: allow,
			reqHeader: http.Header{
				"Connection":          {"X-Secret"},
				"X-Secret":            {"s"},
				"Keep-Alive":          {"timeout=5"},
				"Te":                  {"trailers"},
				"Proxy-Authorization": {"Basic eA=="},
			},
			wantStatus: 200,
			wantNext:   true,
			wantAuthHeader: map[string]string{
				"X-Secret":            "",
				"Keep-Alive":          "",
				"Te":                  "",
				"Proxy-Authorization": "Basic eA==",
			},
		},
		{
			desc:       "authRequestHeaders sends only the listed headers",
			spec:       Spec{AuthRequestHeaders: []string{"cookie", "X-Absent"}},
			auth:       allow,
			target:     "http://app.example/",
			reqHeader:  http.Header{"Cookie": {"session=1"}, "Authorization": {"Bearer t"}, "User-Agent": {"ua"}},
			wantStatus: 200,
			wantNext:   true,
			wantAuthHeader: map[string]string{
				"Cookie":           "session=1",
				"Authorization":    "",
				"X-Absent":         "",
				"X-Forwarded-Host": "app.example",
				"X-Forwarded-For":  "192.0.2.1",
			},
			wantNextHeader: map[string]string{"Authorization": "Bearer t"},
		},
		{
			desc: "addAuthCookiesToResponse adds the listed cookies and replaces the backend's",
			spec: Spec{AddAuthCookiesToResponse: []string{"session"}},
			auth: func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Add("Set-Cookie", "session=fresh; Path=/; Secure")
				w.Header().Add("Set-Cookie", "other=no")
			},
			backend: func(w http.ResponseWriter) {
				w.Header().Add("Set-Cookie", "session=stale")
				w.Header().Add("Set-Cookie", "app=1")
			},
			wantStatus:     200,
			wantNext:       true,
			wantRespHeader: map[string][]string{"Set-Cookie": {"app=1", "session=fresh; Path=/; Secure"}},
			wantRespBody:   "backend",
		},
		{
			desc: "auth cookies are not added unless listed",
			auth: func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Add("Set-Cookie", "session=fresh")
			},
			backend:        func(w http.ResponseWriter) { w.Header().Add("Set-Cookie", "app=1") },
			wantStatus:     200,
			wantNext:       true,
			wantRespHeader: map[string][]string{"Set-Cookie": {"app=1"}},
		},
		{
			desc:           "preserveRequestMethod",
			spec:           Spec{PreserveRequestMethod: true},
			auth:           allow,
			method:         http.MethodDelete,
			wantStatus:     200,
			wantNext:       true,
			wantAuthMethod: http.MethodDelete,
		},
		{
			desc:         "without forwardBody the body reaches only the backend",
			auth:         allow,
			method:       http.MethodPost,
			body:         "payload",
			wantStatus:   200,
			wantNext:     true,
			wantAuthBody: "",
			wantNextBody: "payload",
		},
		{
			desc:           "forwardBody sends the body to both",
			spec:           Spec{ForwardBody: true, MaxBodySize: DefaultMaxBodySize, PreserveRequestMethod: true},
			auth:           allow,
			method:         http.MethodPost,
			body:           "payload",
			wantStatus:     200,
			wantNext:       true,
			wantAuthMethod: http.MethodPost,
			wantAuthBody:   "payload",
			wantNextBody:   "payload",
		},
		{
			desc:         "forwardBody with a body of unknown length",
			spec:         Spec{ForwardBody: true, MaxBodySize: 7},
			auth:         allow,
			method:       http.MethodPost,
			body:         "payload",
			chunked:      true,
			wantStatus:   200,
			wantNext:     true,
			wantAuthBody: "payload",
			wantNextBody: "payload",
		},
		{
			desc:          "forwardBody above maxBodySize is refused with 401",
			spec:          Spec{ForwardBody: true, MaxBodySize: 6},
			auth:          allow,
			method:        http.MethodPost,
			body:          "payload",
			wantStatus:    401,
			wantAuthCalls: -1,
		},
		{
			desc:          "forwardBody above maxBodySize, length unknown",
			spec:          Spec{ForwardBody: true, MaxBodySize: 6},
			auth:          allow,
			method:        http.MethodPost,
			body:          "payload",
			chunked:       true,
			wantStatus:    401,
			wantAuthCalls: -1,
		},
		{
			desc:         "forwardBody with maxBodySize -1",
			spec:         Spec{ForwardBody: true, MaxBodySize: -1},
			auth:         allow,
			method:       http.MethodPost,
			body:         strings.Repeat("x", 100000),
			wantStatus:   200,
			wantNext:     true,
			wantAuthBody: strings.Repeat("x", 100000),
			wantNextBody: strings.Repeat("x", 100000),
		},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			srv, got := authServer(t, tt.auth)
			spec := tt.spec
			spec.Address = srv.URL + "/verify"
			var next backendSeen
			h := build(t, &spec, backend(&next, tt.backend))

			method := tt.method
			if method == "" {
				method = http.MethodGet
			}
			target := tt.target
			if target == "" {
				target = "http://app.example/"
			}
			var body io.Reader
			if tt.body != "" {
				body = strings.NewReader(tt.body)
				if tt.chunked {
					body = io.MultiReader(body) // hides the length from NewRequest
				}
			}
			r := httptest.NewRequest(method, target, body)
			if tt.chunked {
				r.ContentLength = -1
			}
			for k, v := range tt.reqHeader {
				r.Header[k] = append([]string(nil), v...)
			}
			if tt.remoteAddr != "" {
				r.RemoteAddr = tt.remoteAddr
			}
			before := r.Header.Clone()
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)

			if rec.Code != tt.wantStatus {
				t.Fatalf("status %d, want %d (body %q)", rec.Code, tt.wantStatus, rec.Body.String())
			}
			if next.called != tt.wantNext {
				t.Fatalf("backend called: %v, want %v", next.called, tt.wantNext)
			}
			if !reflect.DeepEqual(r.Header, before) {
				t.Errorf("inbound request headers changed:\n got %v\nwant %v", r.Header, before)
			}
			calls, authMethod, authHeader, authBody := got.get()
			wantCalls := tt.wantAuthCalls
			if wantCalls == 0 {
				wantCalls = 1
			} else if wantCalls < 0 {
				wantCalls = 0
			}
			if calls != wantCalls {
				t.Fatalf("auth server called %d times, want %d", calls, wantCalls)
			}
			if tt.wantAuthMethod != "" && authMethod != tt.wantAuthMethod {
				t.Errorf("auth method %s, want %s", authMethod, tt.wantAuthMethod)
			}
			for k, want := range tt.wantAuthHeader {
				if g := strings.Join(authHeader.Values(k), ","); g != want {
					t.Errorf("auth server got %s: %q, want %q", k, g, want)
				}
			}
			if authBody != tt.wantAuthBody {
				t.Errorf("auth server got body of %d bytes, want %d", len(authBody), len(tt.wantAuthBody))
			}
			if tt.wantNext {
				for k, want := range tt.wantNextHeader {
					if g := strings.Join(next.header[k], ","); g != want {
						t.Errorf("backend got %s: %q, want %q", k, g, want)
					}
				}
				if next.body != tt.wantNextBody {
					t.Errorf("backend got body of %d bytes, want %d", len(next.body), len(tt.wantNextBody))
				}
			}
			for k, want := range tt.wantRespHeader {
				if g := rec.Header()[k]; !slices.Equal(g, want) {
					t.Errorf("response %s: %q, want %q", k, g, want)
				}
			}
			if tt.wantLocationOf != "" {
				if g, want := rec.Header().Get("Location"), srv.URL+tt.wantLocationOf; g != want {
					t.Errorf("Location %q, want %q", g, want)
				}
			}
			if tt.wantRespBody != "" && rec.Body.String() != tt.wantRespBody {
				t.Errorf("response body %q, want %q", rec.Body.String(), tt.wantRespBody)
			}
		})
	}
}

// TestCookiesOnFirstWrite checks that the auth cookies are added when the
// backend writes its body without calling WriteHeader.
func TestCookiesOnFirstWrite(t *testing.T) {
	srv, _ := authServer(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Add("Set-Cookie", "session=fresh")
	})
	h := build(t, &Spec{Address: srv.URL, AddAuthCookiesToResponse: []string{"session"}},
		http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			if _, ok := w.(http.Flusher); !ok {
				t.Error("writer passed to the backend is not an http.Flusher")
			}
			_, _ = w.Write([]byte("x"))
		}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if g := rec.Header()["Set-Cookie"]; !slices.Equal(g, []string{"session=fresh"}) {
		t.Fatalf("Set-Cookie %q, want the auth cookie", g)
	}
}

// observed returns a BuildContext whose logger records warnings.
func observed() (middleware.BuildContext, *observer.ObservedLogs) {
	core, logs := observer.New(zapcore.WarnLevel)
	return middleware.BuildContext{Logger: zap.New(core)}, logs
}

func TestAuthServerUnavailable(t *testing.T) {
	// A server started and closed leaves a loopback port nobody listens
	// on: connecting to it is refused at once.
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close()

	tests := []struct {
		desc       string
		address    string
		cancel     bool
		wantStatus int
		wantWarn   bool
	}{
		{desc: "connection refused is 500 with a warning", address: down.URL, wantStatus: http.StatusInternalServerError, wantWarn: true},
		{desc: "client gone is 499 without a warning", address: down.URL, cancel: true, wantStatus: proxy.StatusClientClosedRequest},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			ctx, logs := observed()
			var next backendSeen
			h, err := Factory{}.Build(ctx, "auth@test", &Spec{Address: tt.address}, backend(&next, nil))
			if err != nil {
				t.Fatal(err)
			}
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			if tt.cancel {
				c, cancel := context.WithCancel(r.Context())
				cancel()
				r = r.WithContext(c)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			if rec.Code != tt.wantStatus {
				t.Fatalf("status %d, want %d", rec.Code, tt.wantStatus)
			}
			if next.called {
				t.Fatal("backend called")
			}
			if warned := logs.FilterMessageSnippet("could not reach").Len() > 0; warned != tt.wantWarn {
				t.Fatalf("warned %v, want %v (logs %v)", warned, tt.wantWarn, logs.All())
			}
		})
	}
}

// TestBuildWithNilLogger checks that a BuildContext without a logger (as in
// tests and tools) is safe even on the paths that log.
func TestBuildWithNilLogger(t *testing.T) {
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close()
	h := build(t, &Spec{Address: down.URL, HeaderField: "X-User", TLS: &TLS{CAOptional: true}}, http.NotFoundHandler())
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if rec.Code != http.StatusInternalServerError {
		t.Fatalf("status %d, want 500", rec.Code)
	}
}

// certPEM returns a certificate and key in PEM, self-signed, valid for
// loopback, usable by a server or a client.
func certPEM(t *testing.T, cn string) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
}

func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestTLS(t *testing.T) {
	dir := t.TempDir()
	clientCert, clientKey := certPEM(t, "berth-client")
	clientPool := x509.NewCertPool()
	clientPool.AppendCertsFromPEM(clientCert)

	// plain asks for no client certificate; mutual requires one signed
	// by clientPool.
	// The refused handshakes are expected; their log lines are noise.
	quiet := log.New(io.Discard, "", 0)
	plain := httptest.NewUnstartedServer(http.HandlerFunc(allow))
	plain.Config.ErrorLog = quiet
	plain.StartTLS()
	t.Cleanup(plain.Close)
	mutual := httptest.NewUnstartedServer(http.HandlerFunc(allow))
	mutual.Config.ErrorLog = quiet
	mutual.TLS = &tls.Config{ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: clientPool}
	mutual.StartTLS()
	t.Cleanup(mutual.Close)

	// Both test servers use the same built-in certificate.
	serverCA := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: plain.Certificate().Raw})
	caFile := writeFile(t, dir, "ca.pem", serverCA)
	certFile := writeFile(t, dir, "client.pem", clientCert)
	keyFile := writeFile(t, dir, "client-key.pem", clientKey)

	tests := []struct {
		desc       string
		address    string
		tls        *TLS
		wantStatus int
	}{
		{desc: "CA file", address: plain.URL, tls: &TLS{CA: caFile}, wantStatus: 200},
		{desc: "inline CA", address: plain.URL, tls: &TLS{CA: string(serverCA)}, wantStatus: 200},
		{desc: "unknown CA is refused", address: plain.URL, wantStatus: 500},
		{desc: "insecureSkipVerify", address: plain.URL, tls: &TLS{InsecureSkipVerify: true}, wantStatus: 200},
		{desc: "client certificate from files", address: mutual.URL, tls: &TLS{CA: caFile, Cert: certFile, Key: keyFile}, wantStatus: 200},
		{desc: "client certificate required", address: mutual.URL, tls: &TLS{CA: caFile}, wantStatus: 500},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			var next backendSeen
			h := build(t, &Spec{Address: tt.address, TLS: tt.tls}, backend(&next, nil))
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
			if rec.Code != tt.wantStatus {
				t.Fatalf("status %d, want %d", rec.Code, tt.wantStatus)
			}
			if next.called != (tt.wantStatus == 200) {
				t.Fatalf("backend called %v", next.called)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	dir := t.TempDir()
	cert, key := certPEM(t, "x")
	_, otherKey := certPEM(t, "y")
	certFile := writeFile(t, dir, "cert.pem", cert)
	otherKeyFile := writeFile(t, dir, "other-key.pem", otherKey)
	notPEM := writeFile(t, dir, "not.pem", []byte("hello"))
	const ok = "http://auth:9091/verify"

	tests := []struct {
		desc       string
		spec       Spec
		wantErr    string // from Validate; "" means valid
		wantBuild  string // from Build, for errors found reading files
		notValidOK bool
	}{
		{desc: "minimal", spec: Spec{Address: ok}},
		{desc: "https", spec: Spec{Address: "https://auth.example/verify?x=1"}},
		{desc: "all options", spec: Spec{
			Address: ok, TrustForwardHeader: true, AuthResponseHeaders: []string{"X-User"}, AuthResponseHeadersRegex: "^X-",
			AuthRequestHeaders: []string{"Cookie"}, AddAuthCookiesToResponse: []string{"session"}, HeaderField: "X-User",
			ForwardBody: true, MaxBodySize: -1, PreserveLocationHeader: true, PreserveRequestMethod: true,
			TLS: &TLS{CA: string(cert), Cert: certFile, Key: string(key)},
		}},
		{desc: "address missing", spec: Spec{}, wantErr: "address: required"},
		{desc: "address scheme", spec: Spec{Address: "ftp://auth/"}, wantErr: "address: \"ftp://auth/\" must start with http"},
		{desc: "address without scheme", spec: Spec{Address: "auth:9091"}, wantErr: "address:"},
		{desc: "address without host", spec: Spec{Address: "http:///verify"}, wantErr: "address: \"http:///verify\" has no host"},
		{desc: "address unparsable", spec: Spec{Address: "http://[::1"}, wantErr: "address: \"http://[::1\" is not a URL"},
		{desc: "authResponseHeaders", spec: Spec{Address: ok, AuthResponseHeaders: []string{"X-Ok", "X Bad"}}, wantErr: `authResponseHeaders[1]: "X Bad"`},
		{desc: "authRequestHeaders", spec: Spec{Address: ok, AuthRequestHeaders: []string{""}}, wantErr: `authRequestHeaders[0]: ""`},
		{desc: "authResponseHeadersRegex", spec: Spec{Address: ok, AuthResponseHeadersRegex: "("}, wantErr: "authResponseHeadersRegex:"},
		{desc: "addAuthCookiesToResponse", spec: Spec{Address: ok, AddAuthCookiesToResponse: []string{"a;b"}}, wantErr: `addAuthCookiesToResponse[0]: "a;b"`},
		{desc: "headerField", spec: Spec{Address: ok, HeaderField: "X:User"}, wantErr: `headerField: "X:User"`},
		{desc: "maxBodySize", spec: Spec{Address: ok, MaxBodySize: -2}, wantErr: "maxBodySize: -2"},
		{desc: "tls.key missing", spec: Spec{Address: ok, TLS: &TLS{Cert: certFile}}, wantErr: "tls.key: required"},
		{desc: "tls.cert missing", spec: Spec{Address: ok, TLS: &TLS{Key: certFile}}, wantErr: "tls.cert: required"},
		{desc: "several errors are all reported", spec: Spec{HeaderField: "a b"}, wantErr: "/verify\"\nheaderField: \"a b\""},
		{desc: "tls.ca file missing", spec: Spec{Address: ok, TLS: &TLS{CA: filepath.Join(dir, "nope.pem")}}, wantBuild: "tls.ca: open"},
		{desc: "tls.ca not PEM", spec: Spec{Address: ok, TLS: &TLS{CA: notPEM}}, wantBuild: "tls.ca: \"" + notPEM + "\" holds no PEM certificate"},
		{desc: "tls.cert file missing", spec: Spec{Address: ok, TLS: &TLS{Cert: filepath.Join(dir, "nope.pem"), Key: otherKeyFile}}, wantBuild: "tls.cert: open"},
		{desc: "tls.key file missing", spec: Spec{Address: ok, TLS: &TLS{Cert: certFile, Key: filepath.Join(dir, "nope.pem")}}, wantBuild: "tls.key: open"},
		{desc: "tls.cert and tls.key mismatched", spec: Spec{Address: ok, TLS: &TLS{Cert: certFile, Key: otherKeyFile}}, wantBuild: "tls.cert, tls.key:"},
		{desc: "inline key is not printed", spec: Spec{Address: ok, TLS: &TLS{Cert: certFile, Key: string(otherKey)}}, wantBuild: "and the inline PEM are not"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			err := tt.spec.Validate()
			if (err == nil) != (tt.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("Validate: %v, want %q", err, tt.wantErr)
			}
			_, err = Factory{}.Build(middleware.BuildContext{}, "x", &tt.spec, http.NotFoundHandler())
			want := tt.wantErr + tt.wantBuild
			if (err == nil) != (want == "") || (err != nil && !strings.Contains(err.Error(), want)) {
				t.Fatalf("Build: %v, want %q", err, want)
			}
			if err != nil && strings.Contains(err.Error(), "PRIVATE KEY") {
				t.Fatalf("Build error shows key material: %v", err)
			}
		})
	}
	if _, err := (Factory{}).Build(middleware.BuildContext{}, "x", struct{ middleware.Spec }{}, http.NotFoundHandler()); err == nil {
		t.Fatal("Build accepted foreign options")
	}
}

func decodeLabels(t *testing.T, labels map[string]string) (*Spec, string) {
	t.Helper()
	cfg, issues := labeltest.Decode(t, labels)
	if len(issues) > 0 {
		return nil, issues[0].Msg
	}
	return cfg.HTTP.Middlewares["m"].Spec.(*Spec), ""
}

func TestDecodeLabels(t *testing.T) {
	const p = "http.middlewares.m.forwardauth."
	tests := []struct {
		desc    string
		labels  map[string]string
		check   func(s *Spec) bool
		wantErr string
	}{
		{
			desc: "Authelia's documented labels",
			labels: map[string]string{
				p + "address":             "http://authelia:9091/api/verify?rd=https%3A%2F%2Fauth.example%2F",
				p + "trustForwardHeader":  "true",
				p + "authResponseHeaders": "Remote-User,Remote-Groups,Remote-Name,Remote-Email",
			},
			check: func(s *Spec) bool {
				return s.TrustForwardHeader && slices.Equal(s.AuthResponseHeaders, []string{"Remote-User", "Remote-Groups", "Remote-Name", "Remote-Email"}) &&
					s.MaxBodySize == DefaultMaxBodySize
			},
		},
		{
			desc: "nested tls and numbers",
			labels: map[string]string{
				p + "address":                  "https://auth/",
				p + "tls.ca":                   "/etc/ca.pem",
				p + "tls.insecureSkipVerify":   "true",
				p + "forwardBody":              "true",
				p + "maxBodySize":              "-1",
				p + "addAuthCookiesToResponse": "a,b",
			},
			check: func(s *Spec) bool {
				return s.TLS != nil && s.TLS.CA == "/etc/ca.pem" && s.TLS.InsecureSkipVerify && s.ForwardBody && s.MaxBodySize == -1 &&
					slices.Equal(s.AddAuthCookiesToResponse, []string{"a", "b"})
			},
		},
		{desc: "validation error names the option", labels: map[string]string{p + "address": "auth:9091"}, wantErr: "address"},
		{desc: "unknown option", labels: map[string]string{p + "address": "http://a/", p + "bogus": "1"}, wantErr: `unknown key "bogus"`},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			s, msg := decodeLabels(t, tt.labels)
			if tt.wantErr != "" {
				if !strings.Contains(msg, tt.wantErr) {
					t.Fatalf("issue %q, want %q", msg, tt.wantErr)
				}
				return
			}
			if msg != "" {
				t.Fatalf("issue: %s", msg)
			}
			if !tt.check(s) {
				t.Fatalf("decoded %+v", s)
			}
		})
	}
}
