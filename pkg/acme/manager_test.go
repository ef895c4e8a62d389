package acme

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/berthproxy/berth/pkg/config"
)

// storedCert makes a self-signed certificate for names, stored form.
func storedCert(t *testing.T, notAfter time.Time, names ...string) *StoredCert {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: names[0]},
		DNSNames: names, NotBefore: time.Now().Add(-time.Hour), NotAfter: notAfter}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kd, _ := x509.MarshalPKCS8PrivateKey(key)
	return &StoredCert{Domain: config.Domain{Main: names[0], SANs: names[1:]},
		Certificate: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		Key:         pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kd})}
}

// newTestManager makes a manager with resolver "le" whose storage holds
// certs; nothing talks to a CA because Run is not called.
func newTestManager(t *testing.T, certs ...*StoredCert) *Manager {
	t.Helper()
	path := filepath.Join(t.TempDir(), "acme.json")
	if err := NewFileStorage(path, nil).Save(context.Background(), "le", &ResolverData{Certificates: certs}); err != nil {
		t.Fatal(err)
	}
	a := &config.ACME{}
	a.SetDefaults()
	a.Storage = path
	a.HTTPChallenge = &config.HTTPChallenge{EntryPoint: "web"}
	m, issues := New(map[string]*config.CertificateResolver{"le": {ACME: a}}, Options{})
	if len(issues) > 0 {
		t.Fatalf("issues: %v", issues)
	}
	return m
}

func TestUpdateDeduplicates(t *testing.T) {
	valid := storedCert(t, time.Now().Add(30*24*time.Hour), "a.test", "www.a.test")
	expired := storedCert(t, time.Now().Add(-time.Minute), "old.test")
	tests := []struct {
		desc      string
		reqs      []Request
		wantSets  []string // domain keys wanted after Update
		wantNew   int      // states without a certificate
		wantIssue string
	}{
		{desc: "a stored valid certificate is not ordered again",
			reqs:     []Request{{Resolver: "le", Domains: []string{"a.test", "www.a.test"}, Router: "r@file"}},
			wantSets: []string{"a.test,www.a.test"}},
		{desc: "a name covered by a valid certificate is not ordered",
			reqs:     []Request{{Resolver: "le", Domains: []string{"WWW.a.test."}, Router: "r@file"}},
			wantSets: []string{"a.test,www.a.test"}},
		{desc: "a new name is ordered once for two routers",
			reqs: []Request{{Resolver: "le", Domains: []string{"b.test"}, Router: "r1@file"},
				{Resolver: "le", Domains: []string{"b.test"}, Router: "r2@file"}},
			wantSets: []string{"b.test"}, wantNew: 1},
		{desc: "SAN order does not make a new certificate",
			reqs: []Request{{Resolver: "le", Domains: []string{"c.test", "y.test", "x.test"}, Router: "r1@file"},
				{Resolver: "le", Domains: []string{"c.test", "x.test", "y.test"}, Router: "r2@file"}},
			wantSets: []string{"c.test,x.test,y.test"}, wantNew: 1},
		{desc: "an expired certificate is ordered again",
			reqs:     []Request{{Resolver: "le", Domains: []string{"old.test"}, Router: "r@file"}},
			wantSets: []string{"old.test"}},
		{desc: "an unknown resolver is reported",
			reqs:      []Request{{Resolver: "nope", Domains: []string{"d.test"}, Router: "r@file", Source: "d.yml:3:5"}},
			wantIssue: `d.yml:3:5: acme "r@file": "tls.certResolver" = "nope": no certificate resolver named "nope" (configured: le); the default certificate is served`},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			m := newTestManager(t, valid, expired)
			issues := m.Update(tt.reqs)
			got := ""
			for _, is := range issues {
				got += is.Error()
			}
			if got != tt.wantIssue {
				t.Errorf("issues %q, want %q", got, tt.wantIssue)
			}
			var sets []string
			fresh := 0
			for key, st := range m.resolvers["le"].certs {
				if st.wanted {
					sets = append(sets, key)
					if st.cert == nil {
						fresh++
					}
				}
			}
			slices.Sort(sets)
			if !slices.Equal(sets, tt.wantSets) || fresh != tt.wantNew {
				t.Errorf("wanted %v (%d new), want %v (%d new)", sets, fresh, tt.wantSets, tt.wantNew)
			}
			// The expired certificate is due now; the valid one is not.
			for _, st := range m.resolvers["le"].certs {
				at, refresh := st.due()
				if st.cert != nil && st.key == "a.test,www.a.test" && refresh == false && !at.After(time.Now()) {
					t.Errorf("valid certificate due for renewal at %v", at)
				}
			}
		})
	}
}

func TestServesStoredCertificates(t *testing.T) {
	valid := storedCert(t, time.Now().Add(30*24*time.Hour), "a.test")
	expired := storedCert(t, time.Now().Add(-time.Minute), "old.test")
	m := newTestManager(t, valid, expired)
	tests := []struct {
		desc, sni string
		want      bool
	}{
		{desc: "valid stored certificate", sni: "A.test.", want: true},
		{desc: "expired certificate is not served", sni: "old.test"},
		{desc: "unknown name", sni: "b.test"},
		{desc: "no SNI", sni: ""},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			if got := m.Certificate(&tls.ClientHelloInfo{ServerName: tt.sni}) != nil; got != tt.want {
				t.Errorf("served %v, want %v", got, tt.want)
			}
		})
	}
}

func TestServeHTTPChallenge(t *testing.T) {
	m := newTestManager(t)
	m.chal.putHTTP("tok", "tok.thumb")
	tests := []struct {
		desc, ep, path string
		handled        bool
		status         int
		body           string
	}{
		{desc: "known token", ep: "web", path: "/.well-known/acme-challenge/tok", handled: true, status: 200, body: "tok.thumb"},
		{desc: "unknown token", ep: "web", path: "/.well-known/acme-challenge/nope", handled: true, status: 404},
		{desc: "other path goes to the routers", ep: "web", path: "/", handled: false},
		{desc: "other entrypoint goes to the routers", ep: "websecure", path: "/.well-known/acme-challenge/tok", handled: false},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			w := httptest.NewRecorder()
			r := httptest.NewRequest(http.MethodGet, "http://a.test"+tt.path, nil)
			if got := m.ServeHTTPChallenge(tt.ep, w, r); got != tt.handled {
				t.Fatalf("handled %v, want %v", got, tt.handled)
			}
			if !tt.handled {
				return
			}
			if w.Code != tt.status || (tt.body != "" && w.Body.String() != tt.body) {
				t.Errorf("got %d %q, want %d %q", w.Code, w.Body, tt.status, tt.body)
			}
		})
	}
}

func TestTLSALPNCertificate(t *testing.T) {
	m := newTestManager(t)
	c := &tls.Certificate{}
	m.chal.putALPN("a.test", c)
	if got, err := m.TLSALPNCertificate(&tls.ClientHelloInfo{ServerName: "A.TEST"}); err != nil || got != c {
		t.Errorf("got %v, %v", got, err)
	}
	if _, err := m.TLSALPNCertificate(&tls.ClientHelloInfo{ServerName: "b.test"}); err == nil || !strings.Contains(err.Error(), "no TLS-ALPN-01 challenge pending") {
		t.Errorf("unknown name: %v", err)
	}
	// A concurrent order's removal does not remove another's certificate.
	m.chal.deleteALPN("a.test", &tls.Certificate{})
	if got, _ := m.TLSALPNCertificate(&tls.ClientHelloInfo{ServerName: "a.test"}); got != c {
		t.Error("removed by another order")
	}
}

func TestValidHostname(t *testing.T) {
	tests := []struct {
		name string
		want bool
	}{
		{"a.test", true}, {"x-1.example.com", true}, {"localhost", false}, {"127.0.0.1", false},
		{"a..test", false}, {".a.test", false}, {"a.test.", false}, {"a_b.test", false}, {"*.test", false},
		{strings.Repeat("a", 64) + ".test", false}, {"", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := validHostname(tt.name); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestOnDemandRateLimit(t *testing.T) {
	o := &onDemand{rate: 2, tokens: 2}
	now := time.Now()
	steps := []struct {
		desc  string
		after time.Duration
		want  bool
	}{
		{desc: "first", want: true},
		{desc: "second", want: true},
		{desc: "third in the same minute is refused", want: false},
		{desc: "half a minute refills one", after: 30 * time.Second, want: true},
		{desc: "and only one", want: false},
	}
	for _, s := range steps {
		now = now.Add(s.after)
		if got := o.take(now); got != s.want {
			t.Errorf("%s: got %v, want %v", s.desc, got, s.want)
		}
	}
}

func TestDomainKey(t *testing.T) {
	tests := []struct {
		desc string
		in   []string
		want string
	}{
		{desc: "main first, SANs sorted", in: []string{"b.test", "z.test", "a.test"}, want: "b.test,a.test,z.test"},
		{desc: "single", in: []string{"a.test"}, want: "a.test"},
		{desc: "empty", in: nil, want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			if got := domainKey(tt.in); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}
