//go:build e2e

package e2e

import (
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestTraefikMiddlewares runs Traefik's common middlewares through the real
// binary, configured by a file exactly as a Traefik user writes it:
// compress, ipAllowList, rateLimit (whose buckets survive a reload),
// replacePathRegex, redirectRegex, addPrefix, forwardAuth.
func TestTraefikMiddlewares(t *testing.T) {
	big := strings.Repeat("berth compresses this line. ", 200)
	// The auth server admits "Bearer good" as alice and sends everyone
	// else to a login page.
	auth := bServe(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") == "Bearer good" && r.Header.Get("X-Forwarded-Uri") == "/private?x=1" {
			w.Header().Set("X-Auth-User", "alice")
			return
		}
		w.Header().Set("Location", "/login")
		w.WriteHeader(http.StatusFound)
	}))
	be := bServe(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("X-Path", r.URL.Path)
		w.Header().Set("X-Seen-User", r.Header.Get("X-Auth-User"))
		if r.URL.Path == "/big" {
			_, _ = io.WriteString(w, big)
			return
		}
		_, _ = io.WriteString(w, "ok "+r.URL.Path)
	}))
	dynamic := func(extra string) string {
		return fmt.Sprintf(`
http:
  routers:
    gz:
      rule: "Host(%[1]sgz.test%[1]s)"
      service: app
      middlewares: [gz]
    office:
      rule: "Host(%[1]soffice.test%[1]s)"
      service: app
      middlewares: [office]
    open:
      rule: "Host(%[1]sopen.test%[1]s)"
      service: app
      middlewares: [everyone]
    limited:
      rule: "Host(%[1]slimited.test%[1]s)"
      service: app
      middlewares: [limit]
    rewrite:
      rule: "Host(%[1]srewrite.test%[1]s)"
      service: app
      middlewares: [rewrite, prefix]
    www:
      rule: "Host(%[1]swww.example.test%[1]s)"
      service: app
      middlewares: [www]
    private:
      rule: "Host(%[1]sprivate.test%[1]s)"
      service: app
      middlewares: [sso]
%[3]s
  middlewares:
    gz:
      compress: {}
    sso:
      forwardAuth:
        address: %[4]q
        authResponseHeaders: [X-Auth-User]
    office:
      ipAllowList:
        sourceRange: [10.0.0.0/8]
    everyone:
      ipAllowList:
        sourceRange: [127.0.0.1/32, "::1"]
    limit:
      rateLimit:
        average: 1
        period: 1h
        burst: 2
    rewrite:
      replacePathRegex:
        regex: "^/old/(.*)"
        replacement: "/new/$1"
    prefix:
      addPrefix:
        prefix: /v2
    www:
      redirectRegex:
        regex: "^http://www\\.(.+)"
        replacement: "https://${1}"
        permanent: true
  services:
    app:
      loadBalancer:
        servers:
          - url: %[2]q
`, "`", be, extra, auth+"/verify")
	}
	in := start(t, []string{"web"}, dynamic(""))
	url := in.url("web", "/big")

	t.Run("compress", func(t *testing.T) {
		r := aDo(t, "GET", url, "gz.test", http.Header{"Accept-Encoding": {"gzip"}}, nil)
		if r.status != 200 || r.header.Get("Content-Encoding") != "gzip" || r.header.Get("Vary") != "Accept-Encoding" {
			t.Fatalf("got %d, Content-Encoding %q, Vary %q", r.status, r.header.Get("Content-Encoding"), r.header.Get("Vary"))
		}
		zr, err := gzip.NewReader(strings.NewReader(r.body))
		if err != nil {
			t.Fatal(err)
		}
		plain, err := io.ReadAll(zr)
		if err != nil || string(plain) != big {
			t.Fatalf("gunzipped body wrong (%d bytes, %v)", len(plain), err)
		}
		if len(r.body) >= len(big)/4 {
			t.Errorf("compressed %d bytes to %d", len(big), len(r.body))
		}
		if r := aDo(t, "GET", url, "gz.test", http.Header{"Accept-Encoding": {"identity"}}, nil); r.body != big || r.header.Get("Content-Encoding") != "" {
			t.Errorf("identity: Content-Encoding %q, %d bytes", r.header.Get("Content-Encoding"), len(r.body))
		}
	})
	t.Run("ipAllowList", func(t *testing.T) {
		if r := aDo(t, "GET", in.url("web", "/"), "office.test", nil, nil); r.status != 403 {
			t.Errorf("client 127.0.0.1 outside 10.0.0.0/8: %d, want 403", r.status)
		}
		if r := aDo(t, "GET", in.url("web", "/"), "open.test", nil, nil); r.status != 200 {
			t.Errorf("client inside sourceRange: %d, want 200", r.status)
		}
	})
	t.Run("replacePathRegex and addPrefix", func(t *testing.T) {
		r := aDo(t, "GET", in.url("web", "/old/item?id=1"), "rewrite.test", nil, nil)
		if r.status != 200 || r.header.Get("X-Path") != "/v2/new/item" {
			t.Errorf("got %d, backend path %q, want /v2/new/item", r.status, r.header.Get("X-Path"))
		}
	})
	t.Run("redirectRegex", func(t *testing.T) {
		// The Host header carries no port, so neither does the URL the
		// regex sees.
		r := aDo(t, "GET", in.url("web", "/a?b=c"), "www.example.test", nil, nil)
		want := "https://example.test/a?b=c"
		if r.status != http.StatusMovedPermanently || r.header.Get("Location") != want {
			t.Errorf("got %d Location %q, want 301 %q", r.status, r.header.Get("Location"), want)
		}
	})
	t.Run("forwardAuth", func(t *testing.T) {
		private := in.url("web", "/private?x=1")
		r := aDo(t, "GET", private, "private.test", http.Header{"Authorization": {"Bearer good"}, "X-Auth-User": {"mallory"}}, nil)
		if r.status != 200 || r.header.Get("X-Seen-User") != "alice" {
			t.Errorf("admitted request: %d, backend saw user %q, want 200 alice", r.status, r.header.Get("X-Seen-User"))
		}
		r = aDo(t, "GET", private, "private.test", http.Header{"X-Auth-User": {"mallory"}}, nil)
		if r.status != http.StatusFound || r.header.Get("Location") != auth+"/login" || r.header.Get("X-Seen-User") != "" {
			t.Errorf("refused request: %d Location %q, want 302 to %s/login without reaching the backend", r.status, r.header.Get("Location"), auth)
		}
	})
	t.Run("rateLimit survives a reload", func(t *testing.T) {
		limitedURL := in.url("web", "/")
		for i := range 2 {
			if r := aDo(t, "GET", limitedURL, "limited.test", nil, nil); r.status != 200 {
				t.Fatalf("request %d within the burst: %d", i+1, r.status)
			}
		}
		r := aDo(t, "GET", limitedURL, "limited.test", nil, nil)
		if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") == "" {
			t.Fatalf("third request: %d Retry-After %q, want 429 with Retry-After", r.status, r.header.Get("Retry-After"))
		}
		// An unrelated change rebuilds every middleware; the client's
		// budget must not reset with it.
		in.writeDynamic(dynamic(`    extra:
      rule: "Host(` + "`extra.test`" + `)"
      service: app
`))
		eventually(t, 5*time.Second, func() string {
			if r := aDo(t, "GET", in.url("web", "/"), "extra.test", nil, nil); r.status != 200 {
				return fmt.Sprintf("new router not served yet: %d", r.status)
			}
			return ""
		})
		if r := aDo(t, "GET", limitedURL, "limited.test", nil, nil); r.status != http.StatusTooManyRequests {
			t.Errorf("after a reload the limit was reset: %d, want 429", r.status)
		}
	})
}
