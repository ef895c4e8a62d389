//go:build e2e

package e2e

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// apr1Hash is `openssl passwd -apr1 -salt QmH1x9Zk apr1-secret`.
const apr1Hash = "$apr1$QmH1x9Zk$GuqLhybzJT7EY02VMmYcn1"

// middlewaresConfig is the dynamic configuration of TestMiddlewares: one
// router (or a plain and a TLS one) per middleware, all on the echo backend.
func middlewaresConfig(t *testing.T, echo string) string {
	t.Helper()
	hash, err := bcrypt.GenerateFromPassword([]byte("bcrypt-secret"), 4)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf(`
http:
  routers:
    strip:
      rule: "Host(%[1]sstrip.example.com%[1]s)"
      service: echo
      middlewares: [strip-api]
    hdr:
      rule: "Host(%[1]shdr.example.com%[1]s)"
      service: echo
      middlewares: [hdr]
    hdr-tls:
      rule: "Host(%[1]shdr.example.com%[1]s)"
      service: echo
      middlewares: [hdr]
      tls: {}
    redir:
      rule: "Host(%[1]sredir.example.com%[1]s)"
      service: echo
      middlewares: [to-https]
    redir-tls:
      rule: "Host(%[1]sredir.example.com%[1]s)"
      service: echo
      middlewares: [to-https]
      tls: {}
    redir-temp:
      rule: "Host(%[1]sredir-temp.example.com%[1]s)"
      service: echo
      middlewares: [to-https-temp]
    redir-temp-tls:
      rule: "Host(%[1]sredir-temp.example.com%[1]s)"
      service: echo
      middlewares: [to-https-temp]
      tls: {}
    auth:
      rule: "Host(%[1]sauth.example.com%[1]s)"
      service: echo
      middlewares: [auth]
    auth-keep:
      rule: "Host(%[1]sauth-keep.example.com%[1]s)"
      service: echo
      middlewares: [auth-keep]
    chain-strip-then-hdr:
      rule: "Host(%[1]schain1.example.com%[1]s)"
      service: echo
      middlewares: [strip-then-hdr]
    chain-hdr-then-strip:
      rule: "Host(%[1]schain2.example.com%[1]s)"
      service: echo
      middlewares: [hdr-then-strip]
    chain-nested:
      rule: "Host(%[1]schain3.example.com%[1]s)"
      service: echo
      middlewares: [nested]
    list-strips:
      rule: "Host(%[1]slist.example.com%[1]s)"
      service: echo
      middlewares: [strip-api, strip-v1]
    list-strips-reversed:
      rule: "Host(%[1]slist-rev.example.com%[1]s)"
      service: echo
      middlewares: [strip-v1, strip-api]
  middlewares:
    strip-api:
      stripPrefix:
        prefixes: ["/api"]
    strip-v1:
      stripPrefix:
        prefixes: ["/v1"]
    hdr:
      headers:
        customRequestHeaders:
          X-Custom-Req: "req-value"
          X-Remove-Me: ""
        customResponseHeaders:
          X-Custom-Resp: "resp-value"
          X-From-Backend: ""
        stsSeconds: 31536000
        stsIncludeSubdomains: true
        accessControlAllowMethods: [GET, PUT]
        accessControlAllowHeaders: [X-Custom]
        accessControlAllowOriginList: ["https://ok.example"]
        accessControlMaxAge: 600
        addVaryHeader: true
    set-prefix:
      headers:
        customRequestHeaders:
          X-Forwarded-Prefix: "/override"
          X-Chain: "yes"
    to-https:
      redirectScheme:
        scheme: https
        port: "8443"
        permanent: true
    to-https-temp:
      redirectScheme:
        scheme: https
    auth:
      basicAuth:
        users:
          - "alice:%[3]s"
          - "bob:%[4]s"
        removeHeader: true
    auth-keep:
      basicAuth:
        users:
          - "alice:%[3]s"
        realm: "private area"
        headerField: X-WebAuth-User
    strip-then-hdr:
      chain:
        middlewares: [strip-api, set-prefix]
    hdr-then-strip:
      chain:
        middlewares: [set-prefix, strip-api]
    nested:
      chain:
        middlewares: [strip-then-hdr, strip-v1]
  services:
    echo:
      loadBalancer:
        servers:
%[2]s`, "`", yamlServers(echo), hash, apr1Hash)
}

// TestMiddlewares runs each middleware through the real proxy.
func TestMiddlewares(t *testing.T) {
	in := start(t, []string{"web"}, middlewaresConfig(t, bEcho(t)))
	c := bClient(t, nil)
	url := func(scheme, host, path string) string { return in.bURL(scheme, host, "web", path) }

	t.Run("stripPrefix", func(t *testing.T) {
		tests := []struct {
			desc, path string
			hdr        http.Header
			wantPath   string
			wantURI    string // request target the backend received
			wantQuery  string
			wantPrefix []string
		}{
			{desc: "prefix and query", path: "/api/users?x=1", wantPath: "/users", wantURI: "/users?x=1", wantQuery: "x=1", wantPrefix: []string{"/api"}},
			{desc: "prefix alone", path: "/api", wantPath: "/", wantURI: "/", wantPrefix: []string{"/api"}},
			{desc: "prefix with slash", path: "/api/", wantPath: "/", wantURI: "/", wantPrefix: []string{"/api"}},
			{desc: "escaped space", path: "/api/a%20b", wantPath: "/a b", wantURI: "/a%20b", wantPrefix: []string{"/api"}},
			{desc: "escaped slash kept escaped", path: "/api/a%2Fb?q=%2F", wantPath: "/a/b", wantURI: "/a%2Fb?q=%2F", wantQuery: "q=%2F", wantPrefix: []string{"/api"}},
			{desc: "other path untouched", path: "/other/api", wantPath: "/other/api", wantURI: "/other/api"},
			{desc: "client's X-Forwarded-Prefix is not trusted", path: "/api/x", hdr: http.Header{"X-Forwarded-Prefix": {"/evil"}},
				wantPath: "/x", wantURI: "/x", wantPrefix: []string{"/api"}},
		}
		for _, tc := range tests {
			t.Run(tc.desc, func(t *testing.T) {
				r := bDo(t, c, "GET", url("http", "strip.example.com", tc.path), tc.hdr, nil)
				if r.status != 200 {
					t.Fatalf("status %d: %q", r.status, r.body)
				}
				s := r.seen(t)
				if s.Path != tc.wantPath || s.RawQuery != tc.wantQuery || s.URI != tc.wantURI {
					t.Errorf("backend saw path %q query %q (target %q), want %q %q (%q)", s.Path, s.RawQuery, s.URI, tc.wantPath, tc.wantQuery, tc.wantURI)
				}
				if got := s.Header.Values("X-Forwarded-Prefix"); !slices.Equal(got, tc.wantPrefix) {
					t.Errorf("backend saw X-Forwarded-Prefix %q, want %q", got, tc.wantPrefix)
				}
			})
		}
	})

	t.Run("headers", func(t *testing.T) {
		tests := []struct {
			desc, scheme string
			wantSTS      string
		}{
			{desc: "HTTP: no STS", scheme: "http"},
			{desc: "HTTPS: STS", scheme: "https", wantSTS: "max-age=31536000; includeSubDomains"},
		}
		for _, tc := range tests {
			t.Run(tc.desc, func(t *testing.T) {
				r := bDo(t, c, "GET", url(tc.scheme, "hdr.example.com", "/h"), http.Header{"X-Remove-Me": {"secret"}}, nil)
				if r.status != 200 {
					t.Fatalf("status %d: %q", r.status, r.body)
				}
				s := r.seen(t)
				if got := s.Header.Get("X-Custom-Req"); got != "req-value" {
					t.Errorf("backend saw X-Custom-Req %q, want req-value", got)
				}
				if got, ok := s.Header["X-Remove-Me"]; ok {
					t.Errorf("backend saw X-Remove-Me %q, want it removed", got)
				}
				if got := r.header.Get("X-Custom-Resp"); got != "resp-value" {
					t.Errorf("X-Custom-Resp = %q, want resp-value", got)
				}
				if got, ok := r.header["X-From-Backend"]; ok {
					t.Errorf("X-From-Backend = %q, want it removed", got)
				}
				if got := r.header.Get("Strict-Transport-Security"); got != tc.wantSTS {
					t.Errorf("Strict-Transport-Security = %q, want %q", got, tc.wantSTS)
				}
			})
		}
	})

	t.Run("headers CORS", func(t *testing.T) {
		tests := []struct {
			desc, method, origin, reqMethod string
			wantOrigin                      string
			wantPreflight                   bool // answered by berth, not the backend
		}{
			{desc: "preflight, allowed origin", method: "OPTIONS", origin: "https://ok.example", reqMethod: "PUT", wantOrigin: "https://ok.example", wantPreflight: true},
			{desc: "preflight, other origin", method: "OPTIONS", origin: "https://evil.example", reqMethod: "PUT", wantPreflight: true},
			{desc: "simple request, allowed origin", method: "GET", origin: "https://ok.example", wantOrigin: "https://ok.example"},
			{desc: "simple request, other origin", method: "GET", origin: "https://evil.example"},
			{desc: "OPTIONS without preflight headers reaches the backend", method: "OPTIONS"},
		}
		for _, tc := range tests {
			t.Run(tc.desc, func(t *testing.T) {
				hdr := http.Header{}
				if tc.origin != "" {
					hdr.Set("Origin", tc.origin)
				}
				if tc.reqMethod != "" {
					hdr.Set("Access-Control-Request-Method", tc.reqMethod)
					hdr.Set("Access-Control-Request-Headers", "X-Custom")
				}
				r := bDo(t, c, tc.method, url("http", "hdr.example.com", "/cors"), hdr, nil)
				if r.status != 200 {
					t.Fatalf("status %d: %q", r.status, r.body)
				}
				if got := r.header.Get("Access-Control-Allow-Origin"); got != tc.wantOrigin {
					t.Errorf("Access-Control-Allow-Origin = %q, want %q", got, tc.wantOrigin)
				}
				if !slices.Contains(r.header.Values("Vary"), "Origin") {
					t.Errorf("Vary = %q, want Origin", r.header.Values("Vary"))
				}
				if tc.wantPreflight {
					if r.body != "" {
						t.Errorf("preflight reached the backend: %q", r.body)
					}
					want := map[string]string{
						"Access-Control-Allow-Methods": "GET,PUT",
						"Access-Control-Allow-Headers": "X-Custom",
						"Access-Control-Max-Age":       "600",
					}
					for k, v := range want {
						if tc.wantOrigin == "" {
							v = "" // nothing is allowed for another origin
						}
						if got := r.header.Get(k); got != v {
							t.Errorf("%s = %q, want %q", k, got, v)
						}
					}
					return
				}
				if s := r.seen(t); s.Method != tc.method {
					t.Errorf("backend saw %s, want %s", s.Method, tc.method)
				}
			})
		}
	})

	t.Run("redirectScheme", func(t *testing.T) {
		tests := []struct {
			desc, method, scheme, host, path string
			wantStatus                       int
			wantLocation                     string
		}{
			{desc: "permanent GET", method: "GET", scheme: "http", host: "redir.example.com", path: "/p?q=1",
				wantStatus: 301, wantLocation: "https://redir.example.com:8443/p?q=1"},
			{desc: "permanent POST", method: "POST", scheme: "http", host: "redir.example.com", path: "/form",
				wantStatus: 308, wantLocation: "https://redir.example.com:8443/form"},
			{desc: "temporary GET, default port", method: "GET", scheme: "http", host: "redir-temp.example.com", path: "/p?q=1",
				wantStatus: 302, wantLocation: "https://redir-temp.example.com/p?q=1"},
			{desc: "temporary POST", method: "POST", scheme: "http", host: "redir-temp.example.com", path: "/form",
				wantStatus: 307, wantLocation: "https://redir-temp.example.com/form"},
			// Traefik redirects when the scheme or the configured port differs.
			{desc: "HTTPS on another port than the configured one", method: "GET", scheme: "https", host: "redir.example.com", path: "/p",
				wantStatus: 301, wantLocation: "https://redir.example.com:8443/p"},
			{desc: "HTTPS without a configured port passes", method: "GET", scheme: "https", host: "redir-temp.example.com", path: "/p",
				wantStatus: 200},
		}
		for _, tc := range tests {
			t.Run(tc.desc, func(t *testing.T) {
				var body io.Reader
				if tc.method == "POST" {
					body = strings.NewReader("a=1")
				}
				r := bDo(t, c, tc.method, url(tc.scheme, tc.host, tc.path), nil, body)
				if r.status != tc.wantStatus || r.header.Get("Location") != tc.wantLocation {
					t.Errorf("got %d Location %q, want %d %q", r.status, r.header.Get("Location"), tc.wantStatus, tc.wantLocation)
				}
				if r.status == 200 {
					if s := r.seen(t); s.Path != tc.path {
						t.Errorf("backend saw %q, want %q", s.Path, tc.path)
					}
				}
			})
		}
	})

	t.Run("basicAuth", func(t *testing.T) {
		tests := []struct {
			desc, host, user, pass string
			noCreds                bool
			wantStatus             int
			wantChallenge          string
			wantAuthHeader         bool   // the backend sees Authorization
			wantUserField          string // X-WebAuth-User seen by the backend
		}{
			{desc: "no credentials", host: "auth.example.com", noCreds: true, wantStatus: 401, wantChallenge: `Basic realm="traefik"`},
			{desc: "wrong password", host: "auth.example.com", user: "alice", pass: "nope", wantStatus: 401, wantChallenge: `Basic realm="traefik"`},
			{desc: "unknown user", host: "auth.example.com", user: "mallory", pass: "bcrypt-secret", wantStatus: 401, wantChallenge: `Basic realm="traefik"`},
			{desc: "password of another user", host: "auth.example.com", user: "bob", pass: "bcrypt-secret", wantStatus: 401, wantChallenge: `Basic realm="traefik"`},
			{desc: "bcrypt user", host: "auth.example.com", user: "alice", pass: "bcrypt-secret", wantStatus: 200},
			{desc: "bcrypt user again (cached)", host: "auth.example.com", user: "alice", pass: "bcrypt-secret", wantStatus: 200},
			{desc: "apr1 user", host: "auth.example.com", user: "bob", pass: "apr1-secret", wantStatus: 200},
			{desc: "custom realm", host: "auth-keep.example.com", noCreds: true, wantStatus: 401, wantChallenge: `Basic realm="private area"`},
			{desc: "header kept, user field set", host: "auth-keep.example.com", user: "alice", pass: "bcrypt-secret", wantStatus: 200,
				wantAuthHeader: true, wantUserField: "alice"},
		}
		for _, tc := range tests {
			t.Run(tc.desc, func(t *testing.T) {
				req, _ := http.NewRequest("GET", url("http", tc.host, "/secret"), nil)
				if !tc.noCreds {
					req.SetBasicAuth(tc.user, tc.pass)
				}
				resp, err := c.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				body, _ := io.ReadAll(resp.Body)
				r := bResp{status: resp.StatusCode, header: resp.Header, body: string(body)}
				if r.status != tc.wantStatus {
					t.Fatalf("status %d, want %d: %q", r.status, tc.wantStatus, r.body)
				}
				if got := r.header.Get("WWW-Authenticate"); got != tc.wantChallenge {
					t.Errorf("WWW-Authenticate = %q, want %q", got, tc.wantChallenge)
				}
				if r.status != 200 {
					return
				}
				s := r.seen(t)
				if _, got := s.Header["Authorization"]; got != tc.wantAuthHeader {
					t.Errorf("backend saw Authorization: %v, want %v", got, tc.wantAuthHeader)
				}
				if got := s.Header.Get("X-WebAuth-User"); got != tc.wantUserField {
					t.Errorf("backend saw X-WebAuth-User %q, want %q", got, tc.wantUserField)
				}
			})
		}
	})

	t.Run("chain", func(t *testing.T) {
		tests := []struct {
			desc, host, path string
			wantPath         string
			wantPrefix       []string
			wantChainHeader  string
		}{
			// set-prefix replaces X-Forwarded-Prefix: after stripPrefix
			// it leaves only its value; before, stripPrefix adds to it.
			{desc: "stripPrefix then headers", host: "chain1.example.com", path: "/api/x",
				wantPath: "/x", wantPrefix: []string{"/override"}, wantChainHeader: "yes"},
			{desc: "headers then stripPrefix", host: "chain2.example.com", path: "/api/x",
				wantPath: "/x", wantPrefix: []string{"/override", "/api"}, wantChainHeader: "yes"},
			{desc: "nested chain", host: "chain3.example.com", path: "/api/v1/x",
				wantPath: "/x", wantPrefix: []string{"/override", "/v1"}, wantChainHeader: "yes"},
			{desc: "router list in order", host: "list.example.com", path: "/api/v1/x",
				wantPath: "/x", wantPrefix: []string{"/api", "/v1"}},
			{desc: "router list reversed", host: "list-rev.example.com", path: "/api/v1/x",
				wantPath: "/v1/x", wantPrefix: []string{"/api"}},
		}
		for _, tc := range tests {
			t.Run(tc.desc, func(t *testing.T) {
				r := bDo(t, c, "GET", url("http", tc.host, tc.path), nil, nil)
				if r.status != 200 {
					t.Fatalf("status %d: %q", r.status, r.body)
				}
				s := r.seen(t)
				if s.Path != tc.wantPath {
					t.Errorf("backend saw path %q, want %q", s.Path, tc.wantPath)
				}
				if got := s.Header.Values("X-Forwarded-Prefix"); !slices.Equal(got, tc.wantPrefix) {
					t.Errorf("backend saw X-Forwarded-Prefix %q, want %q", got, tc.wantPrefix)
				}
				if got := s.Header.Get("X-Chain"); got != tc.wantChainHeader {
					t.Errorf("backend saw X-Chain %q, want %q", got, tc.wantChainHeader)
				}
			})
		}
	})
}

// TestMiddlewaresBrokenReferences checks that a router naming a missing
// middleware, a chain cycle or an invalid middleware is disabled alone,
// with the problem in the log, and works once the file is fixed.
func TestMiddlewaresBrokenReferences(t *testing.T) {
	be := backend(t, "app")
	const routers = `
http:
  routers:
    good:
      rule: "Host(%[1]sgood.example.com%[1]s)"
      service: app
      middlewares: [add-header]
    missing:
      rule: "Host(%[1]smissing.example.com%[1]s)"
      service: app
      middlewares: [add-header, does-not-exist]
    cycle-a:
      rule: "Host(%[1]scycle-a.example.com%[1]s)"
      service: app
      middlewares: [loop-a]
    cycle-b:
      rule: "Host(%[1]scycle-b.example.com%[1]s)"
      service: app
      middlewares: [loop-b]
    invalid:
      rule: "Host(%[1]sinvalid.example.com%[1]s)"
      service: app
      middlewares: [bad-auth]
  services:
    app:
      loadBalancer:
        servers:
%[2]s`
	broken := fmt.Sprintf(routers+`
  middlewares:
    add-header:
      headers:
        customResponseHeaders:
          X-Good: "yes"
    loop-a:
      chain:
        middlewares: [add-header, loop-b]
    loop-b:
      chain:
        middlewares: [loop-a]
    bad-auth:
      basicAuth:
        users: ["no-hash-here"]
`, "`", yamlServers(be))
	fixed := fmt.Sprintf(routers+`
  middlewares:
    add-header:
      headers:
        customResponseHeaders:
          X-Good: "yes"
    does-not-exist:
      headers:
        customResponseHeaders:
          X-Fixed: "yes"
    loop-a:
      chain:
        middlewares: [add-header]
    loop-b:
      chain:
        middlewares: [loop-a]
    bad-auth:
      basicAuth:
        users: ["bob:%[3]s"]
`, "`", yamlServers(be), apr1Hash)

	in := start(t, []string{"web"}, broken)
	c := bClient(t, nil)
	for _, s := range []string{
		`does-not-exist@file\" does not exist`,
		"reference cycle",
		`router \"cycle-a@file\"`,
		`router \"cycle-b@file\"`,
		`router \"invalid@file\"`,
		`router \"missing@file\"`,
	} {
		in.bWaitLog(t, s, 2*time.Second)
	}
	if strings.Contains(in.Log(), `router \"good@file\"`) {
		t.Errorf("the good router is reported as a problem")
	}

	check := func(t *testing.T, want map[string]int) {
		t.Helper()
		for _, host := range slices.Sorted(func(yield func(string) bool) {
			for h := range want {
				if !yield(h) {
					return
				}
			}
		}) {
			r := bDo(t, c, "GET", in.bURL("http", host, "web", "/"), nil, nil)
			if r.status != want[host] {
				t.Errorf("%s: status %d, want %d (%q)", host, r.status, want[host], r.body)
			}
			if r.status == 200 && r.header.Get("X-Good") != "yes" && host != "invalid.example.com" {
				t.Errorf("%s: X-Good = %q, want yes", host, r.header.Get("X-Good"))
			}
		}
	}
	t.Run("broken routers disabled, the good one works", func(t *testing.T) {
		check(t, map[string]int{
			"good.example.com":    200,
			"missing.example.com": 404,
			"cycle-a.example.com": 404,
			"cycle-b.example.com": 404,
			"invalid.example.com": 404,
		})
	})

	// writeDynamic fails through the instance's own t, so it is called
	// from this goroutine, not from a subtest.
	in.writeDynamic(fixed)
	t.Run("fixed at runtime", func(t *testing.T) {
		eventually(t, 2*time.Second, func() string {
			r, err := bTryDo(c, "GET", in.bURL("http", "missing.example.com", "web", "/"), nil, nil)
			if err != nil {
				return err.Error()
			}
			if r.status != 200 || r.header.Get("X-Fixed") != "yes" {
				return fmt.Sprintf("missing.example.com: %d X-Fixed %q", r.status, r.header.Get("X-Fixed"))
			}
			return ""
		})
		check(t, map[string]int{
			"good.example.com":    200,
			"missing.example.com": 200,
			"cycle-a.example.com": 200,
			"cycle-b.example.com": 200,
			"invalid.example.com": 401,
		})
	})
}
