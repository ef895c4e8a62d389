//go:build e2e

package e2e

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// tlsFixture is a CA and the certificates the TLS tests serve.
type tlsFixture struct {
	ca                *bCA
	dir               string
	aCert, aKey       string // a.example.com, files
	wildCert, wildKey string // *.example.com, files
	b                 bLeaf  // b.example.com, inline PEM
}

func newTLSFixture(t *testing.T) *tlsFixture {
	t.Helper()
	f := &tlsFixture{ca: bNewCA(t), dir: t.TempDir()}
	f.aCert, f.aKey = f.ca.issue(t, "a.example.com", "a.example.com").write(t, f.dir, "a")
	f.wildCert, f.wildKey = f.ca.issue(t, "*.example.com", "*.example.com").write(t, f.dir, "wildcard")
	f.b = f.ca.issue(t, "b.example.com", "b.example.com")
	return f
}

// certificates is the tls.certificates list: a and the wildcard as files,
// b inline.
func (f *tlsFixture) certificates() string {
	return fmt.Sprintf(`tls:
  certificates:
    - certFile: %q
      keyFile: %q
    - certFile: %q
      keyFile: %q
    - certFile: %s
      keyFile: %s
`, f.aCert, f.aKey, f.wildCert, f.wildKey, bYAMLBlock(f.b.cert, 8), bYAMLBlock(f.b.key, 8))
}

// TestTLSCertificateSelection checks which certificate each SNI gets: the
// exact one beats the wildcard, the wildcard covers one label, anything
// else gets the generated default; and that the chain verifies.
func TestTLSCertificateSelection(t *testing.T) {
	f := newTLSFixture(t)
	be := backend(t, "app")
	dyn := fmt.Sprintf(`
http:
  routers:
    app:
      rule: "HostRegexp(%[1]s.+%[1]s)"
      service: app
      tls: {}
  services:
    app:
      loadBalancer:
        servers:
%[2]s
%[3]s`, "`", yamlServers(be), f.certificates())
	in := start(t, []string{"websecure"}, dyn)
	port := in.ports["websecure"]

	tests := []struct {
		desc     string
		sni      string
		wantCN   string
		verified bool // the chain verifies against the test CA for sni
	}{
		{desc: "exact beats wildcard", sni: "a.example.com", wantCN: "a.example.com", verified: true},
		{desc: "exact from inline PEM", sni: "b.example.com", wantCN: "b.example.com", verified: true},
		{desc: "wildcard", sni: "c.example.com", wantCN: "*.example.com", verified: true},
		{desc: "SNI is case-insensitive", sni: "A.Example.COM", wantCN: "a.example.com", verified: true},
		{desc: "wildcard covers one label only", sni: "x.c.example.com", wantCN: "BERTH DEFAULT CERT"},
		{desc: "wildcard does not cover the apex", sni: "example.com", wantCN: "BERTH DEFAULT CERT"},
		{desc: "unknown name gets the default", sni: "unknown.test", wantCN: "BERTH DEFAULT CERT"},
		{desc: "no SNI gets the default", sni: "", wantCN: "BERTH DEFAULT CERT"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			cs, err := bHandshake(port, tc.sni, tls.VersionTLS12, 0)
			if err != nil {
				t.Fatalf("handshake: %v", err)
			}
			leaf := cs.PeerCertificates[0]
			if leaf.Subject.CommonName != tc.wantCN {
				t.Errorf("served CN %q, want %q", leaf.Subject.CommonName, tc.wantCN)
			}
			_, verr := leaf.Verify(x509.VerifyOptions{DNSName: strings.ToLower(tc.sni), Roots: f.ca.pool})
			if tc.verified && verr != nil {
				t.Errorf("served certificate does not verify for %q: %v", tc.sni, verr)
			}
			if !tc.verified && verr == nil {
				t.Errorf("certificate for %q verifies against the test CA; want the default certificate", tc.sni)
			}
		})
	}

	t.Run("verified HTTPS request", func(t *testing.T) {
		c := bClient(t, f.ca.pool)
		for _, host := range []string{"a.example.com", "b.example.com", "c.example.com"} {
			r := bDo(t, c, "GET", in.bURL("https", host, "websecure", "/x"), nil, nil)
			if r.status != 200 || r.body != "app /x" {
				t.Errorf("%s: got %d %q, want 200 \"app /x\"", host, r.status, r.body)
			}
		}
	})
}

// TestTLSCertificateReload adds a certificate to the dynamic file while
// berth runs and removes it again: each change is served within 2 s.
func TestTLSCertificateReload(t *testing.T) {
	f := newTLSFixture(t)
	newCert, newKey := f.ca.issue(t, "new.example.org", "new.example.org").write(t, f.dir, "new")
	be := backend(t, "app")
	base := fmt.Sprintf(`
http:
  routers:
    app:
      rule: "HostRegexp(%[1]s.+%[1]s)"
      service: app
      tls: {}
  services:
    app:
      loadBalancer:
        servers:
%[2]s
%[3]s`, "`", yamlServers(be), f.certificates())
	withNew := base + fmt.Sprintf("    - certFile: %q\n      keyFile: %q\n", newCert, newKey)
	in := start(t, []string{"websecure"}, base)
	port := in.ports["websecure"]

	cnFor := func(want string) func() string {
		return func() string {
			cn, err := bServedCN(port, "new.example.org")
			if err != nil {
				return err.Error()
			}
			if cn != want {
				return fmt.Sprintf("served %q, want %q", cn, want)
			}
			return ""
		}
	}
	steps := []struct {
		desc    string
		dynamic string
		wantCN  string
	}{
		{desc: "before", wantCN: "BERTH DEFAULT CERT"},
		{desc: "added", dynamic: withNew, wantCN: "new.example.org"},
		{desc: "removed", dynamic: base, wantCN: "BERTH DEFAULT CERT"},
	}
	for _, st := range steps {
		if st.dynamic != "" {
			in.writeDynamic(st.dynamic)
		}
		eventually(t, 2*time.Second, cnFor(st.wantCN))
		// The other certificates stay in force throughout.
		if cn, err := bServedCN(port, "a.example.com"); err != nil || cn != "a.example.com" {
			t.Errorf("%s: a.example.com served %q, %v", st.desc, cn, err)
		}
	}
	c := bClient(t, f.ca.pool)
	in.writeDynamic(withNew)
	eventually(t, 2*time.Second, func() string {
		r, err := bTryDo(c, "GET", in.bURL("https", "new.example.org", "websecure", "/"), nil, nil)
		if err != nil {
			return err.Error()
		}
		if r.status != 200 {
			return fmt.Sprintf("status %d", r.status)
		}
		return ""
	})
}

// TestTLSVersions checks the minimum TLS version: 1.2 by default (TLS 1.0
// and 1.1 refused), and a router's TLS option minVersion VersionTLS13
// refusing TLS 1.2 for its host only.
func TestTLSVersions(t *testing.T) {
	f := newTLSFixture(t)
	be := backend(t, "app")
	dyn := fmt.Sprintf(`
http:
  routers:
    app:
      rule: "HostRegexp(%[1]s.+%[1]s)"
      service: app
      tls: {}
    modern:
      rule: "Host(%[1]smodern.example.com%[1]s)"
      service: app
      tls:
        options: modern
    upper:
      rule: "Host(%[1]sStrict.Example.com%[1]s)"
      service: app
      tls:
        options: modern
  services:
    app:
      loadBalancer:
        servers:
%[2]s
%[3]s
  options:
    modern:
      minVersion: VersionTLS13
`, "`", yamlServers(be), f.certificates())
	in := start(t, []string{"websecure"}, dyn)
	port := in.ports["websecure"]

	tests := []struct {
		desc     string
		sni      string
		min, max uint16
		wantErr  bool
		wantVer  uint16
	}{
		{desc: "TLS 1.0 refused", sni: "a.example.com", min: tls.VersionTLS10, max: tls.VersionTLS10, wantErr: true},
		{desc: "TLS 1.1 refused", sni: "a.example.com", min: tls.VersionTLS11, max: tls.VersionTLS11, wantErr: true},
		{desc: "TLS 1.2 accepted", sni: "a.example.com", min: tls.VersionTLS12, max: tls.VersionTLS12, wantVer: tls.VersionTLS12},
		{desc: "TLS 1.3 accepted", sni: "a.example.com", min: tls.VersionTLS13, max: tls.VersionTLS13, wantVer: tls.VersionTLS13},
		{desc: "modern: TLS 1.2 refused", sni: "modern.example.com", min: tls.VersionTLS12, max: tls.VersionTLS12, wantErr: true},
		{desc: "modern: TLS 1.2 refused, SNI case-insensitive", sni: "MODERN.example.com", min: tls.VersionTLS12, max: tls.VersionTLS12, wantErr: true},
		{desc: "modern: TLS 1.3 accepted", sni: "modern.example.com", min: tls.VersionTLS12, max: tls.VersionTLS13, wantVer: tls.VersionTLS13},
		{desc: "option of a router whose rule has upper-case host", sni: "strict.example.com", min: tls.VersionTLS12, max: tls.VersionTLS12, wantErr: true},
		{desc: "other host of the same wildcard keeps TLS 1.2", sni: "c.example.com", min: tls.VersionTLS12, max: tls.VersionTLS12, wantVer: tls.VersionTLS12},
		{desc: "unknown host keeps TLS 1.2", sni: "unknown.test", min: tls.VersionTLS12, max: tls.VersionTLS12, wantVer: tls.VersionTLS12},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			cs, err := bHandshake(port, tc.sni, tc.min, tc.max)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("handshake succeeded with %s, want it refused", tls.VersionName(cs.Version))
				}
				if !strings.Contains(err.Error(), "protocol version") {
					t.Errorf("error %q, want a protocol version alert", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("handshake: %v", err)
			}
			if cs.Version != tc.wantVer {
				t.Errorf("negotiated %s, want %s", tls.VersionName(cs.Version), tls.VersionName(tc.wantVer))
			}
		})
	}

	t.Run("HTTPS request on the modern router over TLS 1.3", func(t *testing.T) {
		c := bClient(t, f.ca.pool)
		r := bDo(t, c, "GET", in.bURL("https", "modern.example.com", "websecure", "/m"), nil, nil)
		if r.status != 200 || r.body != "app /m" || r.tls.Version != tls.VersionTLS13 {
			t.Errorf("got %d %q over %s, want 200 \"app /m\" over TLS 1.3", r.status, r.body, tls.VersionName(r.tls.Version))
		}
	})
}

// TestTLSRedirectEntryPoint checks the entrypoint redirection HTTP → HTTPS
// (--entryPoints.web.http.redirections.entryPoint.to=websecure).
func TestTLSRedirectEntryPoint(t *testing.T) {
	f := newTLSFixture(t)
	be := backend(t, "app")
	dyn := fmt.Sprintf(`
http:
  routers:
    app:
      rule: "Host(%[1]sapp.example.com%[1]s)"
      service: app
      tls: {}
  services:
    app:
      loadBalancer:
        servers:
%[2]s
%[3]s`, "`", yamlServers(be), f.certificates())
	in := start(t, []string{"web", "websecure"}, dyn, "--entryPoints.web.http.redirections.entryPoint.to=websecure")
	wsPort := in.ports["websecure"]
	c := bClient(t, f.ca.pool)

	tests := []struct {
		desc, method, host, path string
		wantStatus               int
		wantLocation             string
	}{
		{desc: "GET", method: "GET", host: "app.example.com", path: "/path?q=1", wantStatus: http.StatusMovedPermanently,
			wantLocation: fmt.Sprintf("https://app.example.com:%d/path?q=1", wsPort)},
		{desc: "HEAD", method: "HEAD", host: "app.example.com", path: "/", wantStatus: http.StatusMovedPermanently,
			wantLocation: fmt.Sprintf("https://app.example.com:%d/", wsPort)},
		{desc: "POST keeps the method", method: "POST", host: "app.example.com", path: "/form?q=1", wantStatus: http.StatusPermanentRedirect,
			wantLocation: fmt.Sprintf("https://app.example.com:%d/form?q=1", wsPort)},
		{desc: "any host, escaped path", method: "GET", host: "other.test", path: "/a%20b/c?x=%2F", wantStatus: http.StatusMovedPermanently,
			wantLocation: fmt.Sprintf("https://other.test:%d/a%%20b/c?x=%%2F", wsPort)},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			var body io.Reader
			if tc.method == "POST" {
				body = strings.NewReader("a=1")
			}
			r := bDo(t, c, tc.method, in.bURL("http", tc.host, "web", tc.path), nil, body)
			if r.status != tc.wantStatus || r.header.Get("Location") != tc.wantLocation {
				t.Errorf("got %d Location %q, want %d %q", r.status, r.header.Get("Location"), tc.wantStatus, tc.wantLocation)
			}
		})
	}

	t.Run("following the redirect reaches the TLS router", func(t *testing.T) {
		follow := bClient(t, f.ca.pool)
		follow.CheckRedirect = nil
		r := bDo(t, follow, "GET", in.bURL("http", "app.example.com", "web", "/path?q=1"), nil, nil)
		if r.status != 200 || r.body != "app /path" || r.tls == nil {
			t.Errorf("got %d %q (TLS %v), want 200 \"app /path\" over TLS", r.status, r.body, r.tls != nil)
		}
	})

	t.Run("HTTPS on the redirecting entrypoint is served, not redirected", func(t *testing.T) {
		r := bDo(t, c, "GET", in.bURL("https", "app.example.com", "web", "/x"), nil, nil)
		if r.status != 200 || r.body != "app /x" {
			t.Errorf("got %d %q, want 200 \"app /x\"", r.status, r.body)
		}
	})
}

// TestTLSRouterOnlyHTTPS checks that a router with tls serves HTTPS only and
// a router without tls serves plain HTTP only, on the same entrypoint.
func TestTLSRouterOnlyHTTPS(t *testing.T) {
	f := newTLSFixture(t)
	secure, plain := backend(t, "secure"), backend(t, "plain")
	dyn := fmt.Sprintf(`
http:
  routers:
    secure:
      rule: "Host(%[1]ssecure.example.com%[1]s)"
      service: secure
      tls: {}
    plain:
      rule: "Host(%[1]splain.example.com%[1]s)"
      service: plain
  services:
    secure:
      loadBalancer:
        servers:
%[2]s
    plain:
      loadBalancer:
        servers:
%[3]s
%[4]s`, "`", yamlServers(secure), yamlServers(plain), f.certificates())
	in := start(t, []string{"web"}, dyn)
	c := bClient(t, f.ca.pool)
	tests := []struct {
		desc, scheme, host string
		wantStatus         int
		wantBody           string
	}{
		{desc: "tls router over HTTPS", scheme: "https", host: "secure.example.com", wantStatus: 200, wantBody: "secure /p"},
		{desc: "tls router over HTTP", scheme: "http", host: "secure.example.com", wantStatus: 404, wantBody: "404 page not found\n"},
		{desc: "plain router over HTTP", scheme: "http", host: "plain.example.com", wantStatus: 200, wantBody: "plain /p"},
		{desc: "plain router over HTTPS", scheme: "https", host: "plain.example.com", wantStatus: 404, wantBody: "404 page not found\n"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			r := bDo(t, c, "GET", in.bURL(tc.scheme, tc.host, "web", "/p"), nil, nil)
			if r.status != tc.wantStatus || r.body != tc.wantBody {
				t.Errorf("got %d %q, want %d %q", r.status, r.body, tc.wantStatus, tc.wantBody)
			}
		})
	}
}
