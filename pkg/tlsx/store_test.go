package tlsx

import (
	"crypto/tls"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/berthproxy/berth/pkg/config"
)

func TestBuild(t *testing.T) {
	t.Chdir(t.TempDir())
	expiry := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	good := mkCert(t, certSpec{cn: "good", dns: []string{"good.example.com"}})
	other := mkCert(t, certSpec{cn: "other", dns: []string{"other.example.com"}})
	old := mkCert(t, certSpec{cn: "old", dns: []string{"old.example.com"}, notBefore: expiry.AddDate(-1, 0, 0), notAfter: expiry})
	future := mkCert(t, certSpec{cn: "future", dns: []string{"future.example.com"}, notBefore: time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC), notAfter: time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)})
	rsaPair := mkCert(t, certSpec{cn: "rsa", dns: []string{"rsa.example.com"}, rsa: true})
	noName := mkCert(t, certSpec{})

	// withSource sets the entry's Source as the decoder would.
	withSource := func(c *config.CertAndStores) *config.CertAndStores {
		c.Source = "dynamic.yml:3:7"
		return c
	}
	type issue struct {
		fatal bool
		msg   string
	}
	tests := []struct {
		desc string
		cfg  func() *config.TLS
		// want are the issues, formatted with Issue.Error.
		want []issue
		// served are the common names of the loaded certificates.
		served []string
	}{
		{
			desc: "certificate and key files",
			cfg: func() *config.TLS {
				return &config.TLS{Certificates: []*config.CertAndStores{withSource(good.write(t, "good"))}}
			},
			served: []string{"good"},
		},
		{
			desc:   "inline PEM",
			cfg:    func() *config.TLS { return &config.TLS{Certificates: []*config.CertAndStores{good.inline("x")}} },
			served: []string{"good"},
		},
		{
			desc:   "RSA key in PKCS#8",
			cfg:    func() *config.TLS { return &config.TLS{Certificates: []*config.CertAndStores{rsaPair.inline("x")}} },
			served: []string{"rsa"},
		},
		{
			desc: "missing certificate file is fatal and the rest is kept",
			cfg: func() *config.TLS {
				return &config.TLS{Certificates: []*config.CertAndStores{
					withSource(&config.CertAndStores{Certificate: config.Certificate{CertFile: "certs/a.pem", KeyFile: "certs/a.key"}}),
					good.inline("x"),
				}}
			},
			want:   []issue{{true, `dynamic.yml:3:7: certificate "certs/a.pem": open certs/a.pem: no such file or directory`}},
			served: []string{"good"},
		},
		{
			desc: "missing key file",
			cfg: func() *config.TLS {
				c := withSource(good.write(t, "nokey"))
				c.KeyFile = "certs/missing.key"
				return &config.TLS{Certificates: []*config.CertAndStores{c}}
			},
			want: []issue{{true, `dynamic.yml:3:7: certificate "certs/nokey.pem": key: open certs/missing.key: no such file or directory`}},
		},
		{
			desc: "key of another certificate",
			cfg: func() *config.TLS {
				c := withSource(good.write(t, "a"))
				c.KeyFile = other.keyPEM
				return &config.TLS{Certificates: []*config.CertAndStores{c}}
			},
			want: []issue{{true, `dynamic.yml:3:7: certificate "certs/a.pem": key does not match certificate`}},
		},
		{
			desc: "not PEM",
			cfg: func() *config.TLS {
				return &config.TLS{Certificates: []*config.CertAndStores{withSource(&config.CertAndStores{
					Certificate: config.Certificate{CertFile: "-----BEGIN nonsense", KeyFile: good.keyPEM}})}}
			},
			want: []issue{{true, `dynamic.yml:3:7: certificate (inline PEM): no CERTIFICATE PEM block found`}},
		},
		{
			desc: "key without PEM block",
			cfg: func() *config.TLS {
				c := withSource(good.inline(""))
				c.KeyFile = "-----BEGIN garbage"
				return &config.TLS{Certificates: []*config.CertAndStores{c}}
			},
			want: []issue{{true, `dynamic.yml:3:7: certificate (inline PEM): key: no PRIVATE KEY PEM block found`}},
		},
		{
			desc: "empty keyFile",
			cfg: func() *config.TLS {
				return &config.TLS{Certificates: []*config.CertAndStores{withSource(&config.CertAndStores{
					Certificate: config.Certificate{CertFile: "certs/a.pem"}})}}
			},
			want: []issue{{true, `dynamic.yml:3:7: certificate "certs/a.pem": keyFile is empty`}},
		},
		{
			desc: "expired certificate is a warning and is kept",
			cfg: func() *config.TLS {
				return &config.TLS{Certificates: []*config.CertAndStores{withSource(old.write(t, "old"))}}
			},
			want:   []issue{{false, `dynamic.yml:3:7: certificate "certs/old.pem": certificate expired on 2025-01-01`}},
			served: []string{"old"},
		},
		{
			desc: "not yet valid certificate is a warning and is kept",
			cfg: func() *config.TLS {
				return &config.TLS{Certificates: []*config.CertAndStores{withSource(future.inline(""))}}
			},
			want:   []issue{{false, `dynamic.yml:3:7: certificate (inline PEM): certificate is not valid before 2099-01-01`}},
			served: []string{"future"},
		},
		{
			desc: "certificate without names",
			cfg: func() *config.TLS {
				return &config.TLS{Certificates: []*config.CertAndStores{withSource(noName.inline(""))}}
			},
			want:   []issue{{false, `dynamic.yml:3:7: certificate (inline PEM): the certificate has no DNS name and is never served`}},
			served: []string{""},
		},
		{
			desc: "stores other than default",
			cfg: func() *config.TLS {
				in := withSource(good.inline(""))
				in.Stores = []string{"default", "internal"}
				out := withSource(other.inline(""))
				out.Stores = []string{"internal"}
				return &config.TLS{
					Certificates: []*config.CertAndStores{in, out},
					Stores:       map[string]*config.TLSStore{"internal": {}},
				}
			},
			want: []issue{
				{false, `dynamic.yml:3:7: certificate (inline PEM): store "internal" is not supported, only "default"`},
				{false, `dynamic.yml:3:7: certificate (inline PEM): store "internal" is not supported, only "default"`},
				{false, `dynamic.yml:3:7: certificate (inline PEM): the certificate is not in the "default" store and is not served`},
				{false, `tls "internal": "tls.stores": store "internal" is not supported and is ignored, only "default"`},
			},
			served: []string{"good"},
		},
		{
			desc: "store default certificate",
			cfg: func() *config.TLS {
				return &config.TLS{Stores: map[string]*config.TLSStore{"default": {DefaultCertificate: &good.write(t, "def").Certificate}}}
			},
			served: []string{"good"},
		},
		{
			desc: "broken store default certificate",
			cfg: func() *config.TLS {
				return &config.TLS{Stores: map[string]*config.TLSStore{"default": {DefaultCertificate: &config.Certificate{CertFile: "certs/nope.pem", KeyFile: "certs/nope.key"}}}}
			},
			want: []issue{{true, `"tls.stores.default.defaultCertificate": certificate "certs/nope.pem": open certs/nope.pem: no such file or directory`}},
		},
		{
			desc: "invalid TLS option",
			cfg: func() *config.TLS {
				return &config.TLS{Options: map[string]*config.TLSOption{
					"default": {},
					"old":     {MinVersion: "VersionTLS14", Source: "dynamic.yml:20:5"},
				}}
			},
			want: []issue{{true, `dynamic.yml:20:5: tls "old": "minVersion" = "VersionTLS14": unknown TLS version; valid: VersionTLS10, VersionTLS11, VersionTLS12, VersionTLS13`}},
		},
		{
			desc: "nil configuration",
			cfg:  func() *config.TLS { return nil },
		},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			s, issues := Build(tt.cfg())
			var got []issue
			for _, i := range issues {
				if i.Kind != "tls" {
					t.Errorf("issue %v: kind %q, want tls", i, i.Kind)
				}
				got = append(got, issue{i.Fatal, i.Error()})
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("issues:\n got %v\nwant %v", got, tt.want)
			}
			var served []string
			for _, ci := range s.Certificates() {
				served = append(served, ci.CommonName)
			}
			if !slices.Equal(served, tt.served) {
				t.Errorf("served %q, want %q", served, tt.served)
			}
		})
	}
}

func TestCertificates(t *testing.T) {
	notAfter := time.Now().Add(48 * time.Hour).Truncate(time.Second)
	p := mkCert(t, certSpec{cn: "www.example.com", dns: []string{"WWW.example.com", "*.Example.com."}, notAfter: notAfter})
	legacy := mkCert(t, certSpec{cn: "Legacy.example.org"})
	def := mkCert(t, certSpec{cn: "fallback"})
	s := mustBuild(t, &config.TLS{
		Certificates: []*config.CertAndStores{p.inline("a.yml:1:1"), legacy.inline("a.yml:5:1")},
		Stores:       map[string]*config.TLSStore{"default": {DefaultCertificate: &config.Certificate{CertFile: def.certPEM, KeyFile: def.keyPEM}}},
	})
	got := s.Certificates()
	tests := []struct {
		desc    string
		info    CertInfo
		sans    []string
		source  string
		isDef   bool
		expires time.Time
	}{
		{desc: "SANs normalized", info: got[0], sans: []string{"www.example.com", "*.example.com"}, source: "a.yml:1:1", expires: notAfter},
		{desc: "CN when no SANs", info: got[1], sans: []string{"legacy.example.org"}, source: "a.yml:5:1"},
		{desc: "store default last", info: got[2], sans: []string{"fallback"}, source: "tls.stores.default.defaultCertificate", isDef: true},
	}
	if len(got) != len(tests) {
		t.Fatalf("got %d certificates, want %d", len(got), len(tests))
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			if !slices.Equal(tt.info.SANs, tt.sans) || tt.info.Source != tt.source || tt.info.Default != tt.isDef {
				t.Errorf("got %+v, want SANs %q source %q default %v", tt.info, tt.sans, tt.source, tt.isDef)
			}
			if !tt.expires.IsZero() && !tt.info.NotAfter.Equal(tt.expires) {
				t.Errorf("NotAfter %v, want %v", tt.info.NotAfter, tt.expires)
			}
		})
	}
	// Callers may not change the store through the returned slices.
	got[0].SANs[0] = "changed"
	if s.Certificates()[0].SANs[0] != "www.example.com" {
		t.Error("Certificates shares its SANs with the store")
	}
}

func TestGetCertificate(t *testing.T) {
	exact := mkCert(t, certSpec{cn: "exact", dns: []string{"www.example.com"}})
	wild := mkCert(t, certSpec{cn: "wildcard", dns: []string{"*.example.com"}})
	legacy := mkCert(t, certSpec{cn: "legacy.example.org"})
	def := mkCert(t, certSpec{cn: "store default"})
	certs := []*config.CertAndStores{exact.inline(""), wild.inline(""), legacy.inline("")}
	withDefault := mustBuild(t, &config.TLS{
		Certificates: certs,
		Stores:       map[string]*config.TLSStore{"default": {DefaultCertificate: &config.Certificate{CertFile: def.certPEM, KeyFile: def.keyPEM}}},
	})
	without := mustBuild(t, &config.TLS{Certificates: certs})

	tests := []struct {
		desc  string
		store *Store
		sni   string
		want  string
	}{
		{desc: "exact beats wildcard", store: withDefault, sni: "www.example.com", want: "exact"},
		{desc: "wildcard", store: withDefault, sni: "api.example.com", want: "wildcard"},
		{desc: "case and trailing dot ignored", store: withDefault, sni: "API.Example.COM.", want: "wildcard"},
		{desc: "exact with upper case", store: withDefault, sni: "WWW.EXAMPLE.COM", want: "exact"},
		{desc: "wildcard covers one label only", store: withDefault, sni: "a.b.example.com", want: "store default"},
		{desc: "wildcard does not cover the apex", store: withDefault, sni: "example.com", want: "store default"},
		{desc: "common name when no SANs", store: withDefault, sni: "legacy.example.org", want: "legacy.example.org"},
		{desc: "unknown name gets the store default", store: withDefault, sni: "unknown.test", want: "store default"},
		{desc: "no SNI gets the store default", store: withDefault, sni: "", want: "store default"},
		{desc: "unknown name without store default", store: without, sni: "unknown.test", want: DefaultCertCommonName},
		{desc: "no SNI without store default", store: without, sni: "", want: DefaultCertCommonName},
		{desc: "empty store", store: emptyStore, sni: "www.example.com", want: DefaultCertCommonName},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			if got := cn(tt.store.GetCertificate(&tls.ClientHelloInfo{ServerName: tt.sni})); got != tt.want {
				t.Errorf("SNI %q served %q, want %q", tt.sni, got, tt.want)
			}
		})
	}
}

func TestGeneratedDefaultCertificate(t *testing.T) {
	a, err := emptyStore.GetCertificate(&tls.ClientHelloInfo{})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Build(nil)
	if c, _ := b.GetCertificate(&tls.ClientHelloInfo{ServerName: "x.test"}); c != a {
		t.Error("the generated default certificate is not shared by stores")
	}
	l := a.Leaf
	if got := fmt.Sprintf("%T", a.PrivateKey); got != "*ecdsa.PrivateKey" {
		t.Errorf("key %s, want *ecdsa.PrivateKey", got)
	}
	if d := l.NotAfter.Sub(l.NotBefore); d < 364*24*time.Hour || d > 366*24*time.Hour {
		t.Errorf("valid for %v, want a year", d)
	}
}

func TestChoose(t *testing.T) {
	now := time.Now()
	valid := mkCert(t, certSpec{cn: "valid", dns: []string{"a.test"}, notAfter: now.Add(24 * time.Hour)})
	notYet := mkCert(t, certSpec{cn: "not yet valid", dns: []string{"a.test"}, notBefore: now.Add(24 * time.Hour), notAfter: now.Add(400 * 24 * time.Hour)})
	expired := mkCert(t, certSpec{cn: "expired", dns: []string{"a.test"}, notBefore: now.Add(-48 * time.Hour), notAfter: now.Add(-24 * time.Hour)})
	ecShort := mkCert(t, certSpec{cn: "ecdsa", dns: []string{"a.test"}, notAfter: now.Add(24 * time.Hour)})
	rsaLong := mkCert(t, certSpec{cn: "rsa", dns: []string{"a.test"}, notAfter: now.Add(90 * 24 * time.Hour), rsa: true})
	ecLong := mkCert(t, certSpec{cn: "ecdsa later", dns: []string{"a.test"}, notAfter: now.Add(60 * 24 * time.Hour)})
	wildRSA := mkCert(t, certSpec{cn: "wild rsa", dns: []string{"*.test"}, rsa: true})
	wildEC := mkCert(t, certSpec{cn: "wild ecdsa", dns: []string{"*.test"}})

	modern := &tls.ClientHelloInfo{
		ServerName:        "a.test",
		SupportedVersions: []uint16{tls.VersionTLS13, tls.VersionTLS12},
		SignatureSchemes:  []tls.SignatureScheme{tls.ECDSAWithP256AndSHA256, tls.PSSWithSHA256, tls.PKCS1WithSHA256},
		SupportedCurves:   []tls.CurveID{tls.X25519, tls.CurveP256},
		SupportedPoints:   []uint8{0},
		CipherSuites:      []uint16{tls.TLS_AES_128_GCM_SHA256, tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256},
	}
	rsaOnly := &tls.ClientHelloInfo{
		ServerName:        "a.test",
		SupportedVersions: []uint16{tls.VersionTLS12},
		SignatureSchemes:  []tls.SignatureScheme{tls.PSSWithSHA256, tls.PKCS1WithSHA256},
		SupportedCurves:   []tls.CurveID{tls.X25519, tls.CurveP256},
		SupportedPoints:   []uint8{0},
		CipherSuites:      []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256},
	}
	tests := []struct {
		desc  string
		certs []pair
		hello *tls.ClientHelloInfo
		sni   string
		want  string
	}{
		{desc: "valid beats a later expiry not yet valid", certs: []pair{notYet, valid}, hello: modern, want: "valid"},
		{desc: "valid beats expired", certs: []pair{expired, valid}, hello: modern, want: "valid"},
		{desc: "ECDSA beats a later RSA when supported", certs: []pair{rsaLong, ecShort}, hello: modern, want: "ecdsa"},
		{desc: "RSA when the client cannot use ECDSA", certs: []pair{ecShort, rsaLong}, hello: rsaOnly, want: "rsa"},
		{desc: "latest expiry among equals", certs: []pair{ecShort, ecLong}, hello: modern, want: "ecdsa later"},
		{desc: "ECDSA preference for wildcards", certs: []pair{wildRSA, wildEC}, hello: modern, sni: "b.test", want: "wild ecdsa"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			var certs []*config.CertAndStores
			for _, p := range tt.certs {
				certs = append(certs, p.inline(""))
			}
			s, _ := Build(&config.TLS{Certificates: certs})
			hello := *tt.hello
			if tt.sni != "" {
				hello.ServerName = tt.sni
			}
			if got := cn(s.GetCertificate(&hello)); got != tt.want {
				t.Errorf("served %q, want %q", got, tt.want)
			}
		})
	}
}

func TestGetCertificateAllocations(t *testing.T) {
	exact := mkCert(t, certSpec{cn: "exact", dns: []string{"www.example.com"}})
	wild := mkCert(t, certSpec{cn: "wildcard", dns: []string{"*.example.com"}})
	s := mustBuild(t, &config.TLS{Certificates: []*config.CertAndStores{exact.inline(""), wild.inline("")}})
	_, _ = emptyStore.GetCertificate(&tls.ClientHelloInfo{}) // generate the default once
	for _, sni := range []string{"www.example.com", "api.example.com", "unknown.test", ""} {
		hello := &tls.ClientHelloInfo{ServerName: sni}
		if n := testing.AllocsPerRun(100, func() { _, _ = s.GetCertificate(hello) }); n != 0 {
			t.Errorf("SNI %q: %v allocations per handshake, want 0", sni, n)
		}
	}
}

func TestValidateOption(t *testing.T) {
	tests := []struct {
		desc string
		opt  *config.TLSOption
		want string // "" means valid; else substrings, "|"-separated
	}{
		{desc: "nil", opt: nil},
		{desc: "empty", opt: &config.TLSOption{}},
		{desc: "all set", opt: &config.TLSOption{MinVersion: "VersionTLS12", MaxVersion: "VersionTLS13",
			CipherSuites: []string{"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"}, SniStrict: true, ALPNProtocols: []string{"http/1.1"}}},
		{desc: "unknown version", opt: &config.TLSOption{MinVersion: "TLS1.2"},
			want: `minVersion "TLS1.2": unknown TLS version; valid: VersionTLS10, VersionTLS11, VersionTLS12, VersionTLS13`},
		{desc: "unknown cipher", opt: &config.TLSOption{CipherSuites: []string{"TLS_RSA_WITH_NULL"}},
			want: `cipherSuites "TLS_RSA_WITH_NULL": unknown cipher suite; valid: |TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256|TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256`},
		{desc: "max below min", opt: &config.TLSOption{MinVersion: "VersionTLS13", MaxVersion: "VersionTLS12"},
			want: `maxVersion "VersionTLS12": is below minVersion VersionTLS13`},
		{desc: "max below the default min", opt: &config.TLSOption{MaxVersion: "VersionTLS11"},
			want: `maxVersion "VersionTLS11": is below minVersion VersionTLS12`},
		{desc: "empty ALPN protocol", opt: &config.TLSOption{ALPNProtocols: []string{"h2", ""}},
			want: `alpnProtocols: a protocol name must be 1 to 255 bytes long`},
		{desc: "every problem is reported", opt: &config.TLSOption{MinVersion: "x", CipherSuites: []string{"y"}},
			want: `minVersion "x"|cipherSuites "y"`},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			err := ValidateOption(tt.opt)
			if tt.want == "" {
				if err != nil {
					t.Errorf("got %v, want valid", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("got nil, want %q", tt.want)
			}
			for _, part := range strings.Split(tt.want, "|") {
				if !strings.Contains(err.Error(), part) {
					t.Errorf("error %q does not contain %q", err, part)
				}
			}
		})
	}
}

func BenchmarkGetCertificate(b *testing.B) {
	exact := mkCert(b, certSpec{cn: "exact", dns: []string{"www.example.com"}})
	wild := mkCert(b, certSpec{cn: "wildcard", dns: []string{"*.example.com"}})
	s := mustBuild(b, &config.TLS{Certificates: []*config.CertAndStores{exact.inline(""), wild.inline("")}})
	for _, sni := range []string{"www.example.com", "api.example.com", "unknown.test"} {
		hello := &tls.ClientHelloInfo{ServerName: sni}
		b.Run(sni, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.GetCertificate(hello); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
