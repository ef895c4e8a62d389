//go:build e2e

package e2e

import (
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestRoutingRules checks which backend a request reaches by host, path,
// priority and wildcard, and the 404 answer when nothing matches.
func TestRoutingRules(t *testing.T) {
	names := []string{"a", "b", "prefix", "exact", "prio", "long", "short", "wild", "tls"}
	urls := map[string]string{}
	for _, n := range names {
		urls[n] = backend(t, n)
	}
	var svcs strings.Builder
	for _, n := range names {
		svcs.WriteString(aService("svc-"+n, urls[n]))
	}
	dyn := `http:
  routers:
    host-a:
      rule: "Host(` + "`a.test`" + `)"
      service: svc-a
    host-b:
      rule: "Host(` + "`b.test`" + `)"
      service: svc-b
    path-prefix:
      rule: "Host(` + "`p.test`" + `) && PathPrefix(` + "`/api`" + `)"
      service: svc-prefix
    path-exact:
      rule: "Host(` + "`p.test`" + `) && Path(` + "`/api/v1/users`" + `)"
      service: svc-exact
    # explicit priority beats the longer rule
    prio-explicit:
      rule: "Host(` + "`prio.test`" + `)"
      priority: 1000
      service: svc-prio
    prio-longer:
      rule: "Host(` + "`prio.test`" + `) && PathPrefix(` + "`/very/long/path`" + `)"
      service: svc-long
    # default priority: the longer rule wins even though "a-" sorts first
    a-len-short:
      rule: "Host(` + "`len.test`" + `)"
      service: svc-short
    z-len-long:
      rule: "Host(` + "`len.test`" + `) && PathPrefix(` + "`/x`" + `)"
      service: svc-long
    wildcard:
      rule: "Host(` + "`*.example.com`" + `)"
      service: svc-wild
    secure-only:
      rule: "Host(` + "`secure.test`" + `)"
      service: svc-tls
      tls: {}
  services:
` + svcs.String()
	in := start(t, []string{"web"}, dyn)

	tests := []struct {
		desc, host, path string
		wantStatus       int
		wantBody         string // exact body
	}{
		{desc: "host a", host: "a.test", path: "/", wantStatus: 200, wantBody: "a /"},
		{desc: "host b", host: "b.test", path: "/hello", wantStatus: 200, wantBody: "b /hello"},
		{desc: "host is case-insensitive and port is ignored", host: "A.TEST:80", path: "/", wantStatus: 200, wantBody: "a /"},
		{desc: "PathPrefix matches the prefix itself", host: "p.test", path: "/api", wantStatus: 200, wantBody: "prefix /api"},
		{desc: "PathPrefix matches below", host: "p.test", path: "/api/v1/other", wantStatus: 200, wantBody: "prefix /api/v1/other"},
		{desc: "Path exact match beats PathPrefix (longer rule)", host: "p.test", path: "/api/v1/users", wantStatus: 200, wantBody: "exact /api/v1/users"},
		{desc: "Path does not match a longer path", host: "p.test", path: "/api/v1/users/42", wantStatus: 200, wantBody: "prefix /api/v1/users/42"},
		{desc: "PathPrefix does not match outside", host: "p.test", path: "/other", wantStatus: 404, wantBody: "404 page not found\n"},
		{desc: "explicit priority beats a longer rule", host: "prio.test", path: "/very/long/path/x", wantStatus: 200, wantBody: "prio /very/long/path/x"},
		{desc: "default priority: longer rule wins", host: "len.test", path: "/x/1", wantStatus: 200, wantBody: "long /x/1"},
		{desc: "default priority: shorter rule when the longer does not match", host: "len.test", path: "/y", wantStatus: 200, wantBody: "short /y"},
		{desc: "wildcard matches one label", host: "foo.example.com", path: "/", wantStatus: 200, wantBody: "wild /"},
		{desc: "wildcard does not match the bare domain", host: "example.com", path: "/", wantStatus: 404, wantBody: "404 page not found\n"},
		{desc: "wildcard does not match two labels", host: "a.b.example.com", path: "/", wantStatus: 404, wantBody: "404 page not found\n"},
		{desc: "unknown host", host: "nothing.test", path: "/", wantStatus: 404, wantBody: "404 page not found\n"},
		{desc: "TLS router does not answer plain HTTP", host: "secure.test", path: "/", wantStatus: 404, wantBody: "404 page not found\n"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			r := aDo(t, "GET", in.url("web", tc.path), tc.host, nil, nil)
			if r.status != tc.wantStatus || r.body != tc.wantBody {
				t.Errorf("Host %s %s: got %d %q, want %d %q", tc.host, tc.path, r.status, r.body, tc.wantStatus, tc.wantBody)
			}
		})
	}

	// The TLS router is live: it answers over HTTPS on the same entrypoint
	// (default certificate), which shows the 404 above is about the scheme.
	t.Run("TLS router answers HTTPS", func(t *testing.T) {
		c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
			TLSClientConfig: &tls.Config{InsecureSkipVerify: true, ServerName: "secure.test"}, //nolint:gosec // test against a self-signed default certificate
		}}
		defer c.CloseIdleConnections()
		req, _ := http.NewRequest("GET", fmt.Sprintf("https://127.0.0.1:%d/s", in.ports["web"]), nil)
		req.Host = "secure.test"
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || string(b) != "tls /s" {
			t.Errorf("HTTPS secure.test: got %d %q, want 200 %q", resp.StatusCode, b, "tls /s")
		}
	})
}

// TestRoutingForwardedHeaders checks the X-Forwarded-* headers a backend
// receives, with and without trusted IPs.
func TestRoutingForwardedHeaders(t *testing.T) {
	rec := aRecordingBackend(t, "fwd")
	dyn := `http:
  routers:
    fwd:
      rule: "Host(` + "`fwd.test`" + `)"
      service: fwd
  services:
` + aService("fwd", rec.URL)
	untrusted := start(t, []string{"web"}, dyn)
	trusted := start(t, []string{"web"}, dyn, "--entryPoints.web.forwardedHeaders.trustedIPs=127.0.0.1/32")

	tests := []struct {
		desc    string
		in      *instance
		send    http.Header
		wantXFF string
		wantXFH string
		wantXFP string
		wantXRI string
	}{
		{desc: "no client headers", in: untrusted, wantXFF: "127.0.0.1", wantXFH: "fwd.test", wantXFP: "http", wantXRI: "127.0.0.1"},
		{desc: "untrusted client headers are replaced", in: untrusted,
			send:    http.Header{"X-Forwarded-For": {"1.2.3.4"}, "X-Forwarded-Host": {"evil.test"}, "X-Forwarded-Proto": {"https"}, "X-Real-Ip": {"6.6.6.6"}},
			wantXFF: "127.0.0.1", wantXFH: "fwd.test", wantXFP: "http", wantXRI: "127.0.0.1"},
		{desc: "Connection: X-Forwarded-Host does not remove berth's (CVE-2024-45410)", in: untrusted,
			send:    http.Header{"Connection": {"X-Forwarded-Host, X-Forwarded-For, X-Forwarded-Proto, X-Real-Ip"}},
			wantXFF: "127.0.0.1", wantXFH: "fwd.test", wantXFP: "http", wantXRI: "127.0.0.1"},
		{desc: "trusted client X-Forwarded-For is kept and appended to", in: trusted,
			send:    http.Header{"X-Forwarded-For": {"1.2.3.4"}},
			wantXFF: "1.2.3.4, 127.0.0.1", wantXFH: "fwd.test", wantXFP: "http", wantXRI: "127.0.0.1"},
		{desc: "trusted client X-Forwarded-Host/-Proto are kept", in: trusted,
			send:    http.Header{"X-Forwarded-Host": {"orig.test"}, "X-Forwarded-Proto": {"https"}},
			wantXFF: "127.0.0.1", wantXFH: "orig.test", wantXFP: "https", wantXRI: "127.0.0.1"},
		{desc: "trusted: Connection-listed headers still do not remove berth's", in: trusted,
			send:    http.Header{"Connection": {"X-Forwarded-Host"}},
			wantXFF: "127.0.0.1", wantXFH: "fwd.test", wantXFP: "http", wantXRI: "127.0.0.1"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			r := aDo(t, "GET", tc.in.url("web", "/h"), "fwd.test", tc.send, nil)
			if r.status != 200 {
				t.Fatalf("status %d %q", r.status, r.body)
			}
			got := rec.last(t).Header
			check := func(k, want string) {
				if v := strings.Join(got.Values(k), ", "); v != want {
					t.Errorf("%s = %q, want %q", k, v, want)
				}
			}
			check("X-Forwarded-For", tc.wantXFF)
			check("X-Forwarded-Host", tc.wantXFH)
			check("X-Forwarded-Proto", tc.wantXFP)
			check("X-Real-Ip", tc.wantXRI)
			if got.Get("X-Forwarded-Server") == "" {
				t.Errorf("X-Forwarded-Server missing")
			}
		})
	}
}

// TestRoutingConnectionHeaderCVE sends, as raw bytes so that exactly these
// headers go out, a request whose Connection header names X-Forwarded-Host:
// berth's own X-Forwarded-Host must still reach the backend
// (CVE-2024-45410), and the client's other Connection-listed header must not.
func TestRoutingConnectionHeaderCVE(t *testing.T) {
	rec := aRecordingBackend(t, "fwd")
	in := start(t, []string{"web"}, `http:
  routers:
    fwd:
      rule: "Host(`+"`fwd.test`"+`)"
      service: fwd
  services:
`+aService("fwd", rec.URL))
	raw := "GET /cve HTTP/1.1\r\nHost: fwd.test\r\nConnection: close, X-Forwarded-Host, X-Forwarded-For, X-Hop\r\nX-Hop: 1\r\nX-Forwarded-Host: evil.test\r\n\r\n"
	res := aSendRaw(t, in.aAddr("web"), raw, 5*time.Second)
	if res.status != 200 {
		t.Fatalf("status %d\n%s", res.status, res.raw)
	}
	got := rec.last(t).Header
	if v := got.Values("X-Forwarded-Host"); len(v) != 1 || v[0] != "fwd.test" {
		t.Errorf("X-Forwarded-Host = %q, want [fwd.test]", v)
	}
	if v := got.Values("X-Forwarded-For"); len(v) != 1 || v[0] != "127.0.0.1" {
		t.Errorf("X-Forwarded-For = %q, want [127.0.0.1]", v)
	}
	if v, ok := got["X-Hop"]; ok {
		t.Errorf("Connection-listed X-Hop reached the backend: %q", v)
	}
}

// TestRoutingPassHostHeader checks the Host a backend receives.
func TestRoutingPassHostHeader(t *testing.T) {
	rec := aRecordingBackend(t, "host")
	backendHost := strings.TrimPrefix(rec.URL, "http://")
	dyn := `http:
  routers:
    pass:
      rule: "Host(` + "`pass.test`" + `)"
      service: pass
    nopass:
      rule: "Host(` + "`nopass.test`" + `)"
      service: nopass
  services:
` + aService("pass", rec.URL) + `    nopass:
      loadBalancer:
        passHostHeader: false
        servers:
` + yamlServers(rec.URL)
	in := start(t, []string{"web"}, dyn)
	tests := []struct{ desc, host, want string }{
		{desc: "default passes the client's Host", host: "pass.test", want: "pass.test"},
		{desc: "passHostHeader false sends the server's host", host: "nopass.test", want: backendHost},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			r := aDo(t, "GET", in.url("web", "/"), tc.host, nil, nil)
			if r.status != 200 {
				t.Fatalf("status %d %q", r.status, r.body)
			}
			if got := rec.last(t).Host; got != tc.want {
				t.Errorf("backend saw Host %q, want %q", got, tc.want)
			}
		})
	}
}

// TestRoutingWeightedRoundRobin checks that weights 3 and 1 give exactly
// 300 and 100 of 400 requests.
func TestRoutingWeightedRoundRobin(t *testing.T) {
	heavy, light := backend(t, "heavy"), backend(t, "light")
	dyn := `http:
  routers:
    wrr:
      rule: "Host(` + "`wrr.test`" + `)"
      service: wrr
  services:
    wrr:
      loadBalancer:
        servers:
          - url: "` + heavy + `"
            weight: 3
          - url: "` + light + `"
            weight: 1
`
	in := start(t, []string{"web"}, dyn)
	counts := map[string]int{}
	client := &http.Client{Timeout: 5 * time.Second}
	defer client.CloseIdleConnections()
	deadline := time.Now().Add(30 * time.Second)
	for i := 0; i < 400; i++ {
		if time.Now().After(deadline) {
			t.Fatalf("400 requests took more than 30s (done %d)", i)
		}
		req := aNewReq(t, in.url("web", "/"), "wrr.test")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("request %d: %d %q", i, resp.StatusCode, b)
		}
		counts[resp.Header.Get("X-Backend")]++
	}
	t.Logf("distribution: %v", counts)
	if counts["heavy"] != 300 || counts["light"] != 100 {
		t.Errorf("got heavy=%d light=%d, want exactly 300 and 100", counts["heavy"], counts["light"])
	}
}

// TestRoutingUpstreamErrors checks 502 for a closed port and 504 for a
// response header timeout.
func TestRoutingUpstreamErrors(t *testing.T) {
	closed := aClosedPortURL(t)
	slow := aSlowBackend(t, "slow", 2*time.Second)
	dyn := `http:
  serversTransports:
    slow:
      forwardingTimeouts:
        responseHeaderTimeout: 200ms
  routers:
    down:
      rule: "Host(` + "`down.test`" + `)"
      service: down
    slow:
      rule: "Host(` + "`slow.test`" + `)"
      service: slow
  services:
` + aService("down", closed) + `    slow:
      loadBalancer:
        serversTransport: slow
        servers:
` + yamlServers(slow)
	in := start(t, []string{"web"}, dyn)
	tests := []struct {
		desc       string
		host       string
		wantStatus int
		maxTime    time.Duration
	}{
		{desc: "closed port gives 502", host: "down.test", wantStatus: 502, maxTime: 3 * time.Second},
		{desc: "responseHeaderTimeout gives 504", host: "slow.test", wantStatus: 504, maxTime: 1500 * time.Millisecond},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t0 := time.Now()
			r := aDo(t, "GET", in.url("web", "/"), tc.host, nil, nil)
			took := time.Since(t0)
			t.Logf("%d %q in %v", r.status, r.body, took)
			if r.status != tc.wantStatus {
				t.Errorf("status %d, want %d (body %q)", r.status, tc.wantStatus, r.body)
			}
			if len(r.body) > 100 || strings.Contains(r.body, "127.0.0.1") {
				t.Errorf("body should be short and not leak the server address: %q", r.body)
			}
			if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
				t.Errorf("Content-Type %q, want text/plain", ct)
			}
			if took > tc.maxTime {
				t.Errorf("took %v, want under %v", took, tc.maxTime)
			}
		})
	}
}
