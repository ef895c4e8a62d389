package tlsx

import (
	"crypto/tls"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/berthproxy/berth/pkg/config"
)

// serve runs a TLS listener on 127.0.0.1 with cfg that completes handshakes
// and returns its address.
func serve(t *testing.T, cfg *tls.Config) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	tln := tls.NewListener(ln, cfg)
	go func() {
		for {
			c, err := tln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer func() { _ = c.Close() }()
				_ = c.SetDeadline(time.Now().Add(5 * time.Second))
				if err := c.(*tls.Conn).Handshake(); err != nil {
					return
				}
				_, _ = io.Copy(io.Discard, c)
			}()
		}
	}()
	return ln.Addr().String()
}

// handshake connects with client (a copy, ServerName set to sni) and
// returns the connection state.
func handshake(t *testing.T, addr, sni string, client *tls.Config) (tls.ConnectionState, error) {
	t.Helper()
	if client == nil {
		client = &tls.Config{}
	}
	client = client.Clone()
	client.ServerName = sni
	// Certificates are self-signed; tests compare the served one instead.
	client.InsecureSkipVerify = true
	if client.NextProtos == nil {
		client.NextProtos = []string{"h2", "http/1.1"}
	}
	d := &net.Dialer{Timeout: 5 * time.Second}
	c, err := tls.DialWithDialer(d, "tcp", addr, client)
	if err != nil {
		return tls.ConnectionState{}, err
	}
	defer func() { _ = c.Close() }()
	return c.ConnectionState(), nil
}

func servedCN(st tls.ConnectionState, err error) string {
	if err != nil {
		return "error"
	}
	return st.PeerCertificates[0].Subject.CommonName
}

func TestServerConfigHandshake(t *testing.T) {
	exact := mkCert(t, certSpec{cn: "exact", dns: []string{"www.example.com"}})
	rsaCert := mkCert(t, certSpec{cn: "rsa", dns: []string{"rsa.example.com"}, rsa: true})
	store := mustBuild(t, &config.TLS{Certificates: []*config.CertAndStores{exact.inline(""), rsaCert.inline("")}})
	addr := serve(t, ServerConfig(func() *Store { return store }, nil))

	tests := []struct {
		desc      string
		sni       string
		client    *tls.Config
		wantErr   bool
		wantCN    string
		wantALPN  string
		wantVer   uint16
		wantSuite uint16
	}{
		{desc: "serves the certificate for the SNI with ALPN h2", sni: "www.example.com", wantCN: "exact", wantALPN: "h2", wantVer: tls.VersionTLS13},
		{desc: "HTTP/1.1-only client", sni: "www.example.com", client: &tls.Config{NextProtos: []string{"http/1.1"}}, wantCN: "exact", wantALPN: "http/1.1", wantVer: tls.VersionTLS13},
		{desc: "unknown SNI gets the generated default", sni: "unknown.test", wantCN: DefaultCertCommonName, wantALPN: "h2", wantVer: tls.VersionTLS13},
		{desc: "TLS 1.2 with an ECDHE AES-GCM suite", sni: "www.example.com",
			client: &tls.Config{MaxVersion: tls.VersionTLS12}, wantCN: "exact", wantALPN: "h2",
			wantVer: tls.VersionTLS12, wantSuite: tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256},
		{desc: "TLS 1.2 with CHACHA20 and an RSA certificate", sni: "rsa.example.com",
			client: &tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256}},
			wantCN: "rsa", wantALPN: "h2", wantVer: tls.VersionTLS12, wantSuite: tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256},
		{desc: "TLS 1.1 refused", sni: "www.example.com",
			client: &tls.Config{MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11}, wantErr: true},
		{desc: "CBC suite refused under TLS 1.2", sni: "www.example.com",
			client: &tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{
				tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA, tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256,
			}}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			st, err := handshake(t, addr, tt.sni, tt.client)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("handshake succeeded with %s %s, want it refused", tls.VersionName(st.Version), tls.CipherSuiteName(st.CipherSuite))
				}
				// The server must be the one refusing, not the client.
				if !strings.Contains(err.Error(), "remote error: tls:") {
					t.Errorf("got %v, want a refusal from the server", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := servedCN(st, nil); got != tt.wantCN {
				t.Errorf("served %q, want %q", got, tt.wantCN)
			}
			if st.NegotiatedProtocol != tt.wantALPN {
				t.Errorf("ALPN %q, want %q", st.NegotiatedProtocol, tt.wantALPN)
			}
			if st.Version != tt.wantVer {
				t.Errorf("version %s, want %s", tls.VersionName(st.Version), tls.VersionName(tt.wantVer))
			}
			if tt.wantSuite != 0 && st.CipherSuite != tt.wantSuite {
				t.Errorf("suite %s, want %s", tls.CipherSuiteName(st.CipherSuite), tls.CipherSuiteName(tt.wantSuite))
			}
		})
	}
}

func TestServerConfigSwapStore(t *testing.T) {
	first := mkCert(t, certSpec{cn: "first", dns: []string{"www.example.com"}})
	second := mkCert(t, certSpec{cn: "second", dns: []string{"www.example.com"}})
	var current atomic.Pointer[Store]
	current.Store(mustBuild(t, &config.TLS{Certificates: []*config.CertAndStores{first.inline("")}}))
	strict := &config.TLSOption{SniStrict: true}
	addr := serve(t, ServerConfig(current.Load, func(string) *config.TLSOption { return strict }))

	steps := []struct {
		desc  string
		store *config.TLS
		want  string
	}{
		{desc: "first table", want: "first"},
		{desc: "swapped table", store: &config.TLS{Certificates: []*config.CertAndStores{second.inline("")}}, want: "second"},
		{desc: "certificate removed, strict SNI refuses", store: &config.TLS{}, want: "error"},
		{desc: "certificate back", store: &config.TLS{Certificates: []*config.CertAndStores{first.inline("")}}, want: "first"},
	}
	for _, step := range steps {
		if step.store != nil {
			current.Store(mustBuild(t, step.store))
		}
		if got := servedCN(handshake(t, addr, "www.example.com", nil)); got != step.want {
			t.Errorf("%s: served %q, want %q", step.desc, got, step.want)
		}
	}
}

func TestServerConfigNilStore(t *testing.T) {
	addr := serve(t, ServerConfig(func() *Store { return nil }, nil))
	if got := servedCN(handshake(t, addr, "www.example.com", nil)); got != DefaultCertCommonName {
		t.Errorf("served %q, want the generated default", got)
	}
}

func TestServerConfigOptions(t *testing.T) {
	exact := mkCert(t, certSpec{cn: "exact", dns: []string{"www.example.com"}})
	wild := mkCert(t, certSpec{cn: "wildcard", dns: []string{"*.example.com"}})
	def := mkCert(t, certSpec{cn: "store default"})
	store := mustBuild(t, &config.TLS{
		Certificates: []*config.CertAndStores{exact.inline(""), wild.inline("")},
		Stores:       map[string]*config.TLSStore{"default": {DefaultCertificate: &config.Certificate{CertFile: def.certPEM, KeyFile: def.keyPEM}}},
	})
	// Options by server name, as the routing table will resolve them
	// from routers' tls.options.
	byName := map[string]*config.TLSOption{
		"strict.test":         {SniStrict: true},
		"www.example.com":     {SniStrict: true},
		"modern.example.com":  {MinVersion: "VersionTLS13"},
		"legacy.example.com":  {MaxVersion: "VersionTLS12"},
		"h1.example.com":      {ALPNProtocols: []string{"http/1.1"}},
		"suite.example.com":   {CipherSuites: []string{"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"}},
		"invalid.example.com": {MinVersion: "VersionTLS99"},
	}
	var calls atomic.Int32
	options := func(name string) *config.TLSOption { calls.Add(1); return byName[name] }
	addr := serve(t, ServerConfig(func() *Store { return store }, options))
	tls12 := &tls.Config{MaxVersion: tls.VersionTLS12}

	tests := []struct {
		desc      string
		sni       string
		client    *tls.Config
		wantCN    string // "error" when the handshake must fail
		wantALPN  string
		wantVer   uint16
		wantSuite uint16
	}{
		{desc: "strict SNI with a matching certificate", sni: "www.example.com", wantCN: "exact", wantALPN: "h2", wantVer: tls.VersionTLS13},
		{desc: "strict SNI without a matching certificate", sni: "strict.test", wantCN: "error"},
		{desc: "no option: the store default is served", sni: "other.test", wantCN: "store default", wantALPN: "h2", wantVer: tls.VersionTLS13},
		{desc: "option names are matched normalized", sni: "STRICT.test.", wantCN: "error"},
		{desc: "minVersion TLS 1.3 refuses TLS 1.2", sni: "modern.example.com", client: tls12, wantCN: "error"},
		{desc: "minVersion TLS 1.3 accepts TLS 1.3", sni: "modern.example.com", wantCN: "wildcard", wantALPN: "h2", wantVer: tls.VersionTLS13},
		{desc: "maxVersion TLS 1.2", sni: "legacy.example.com", wantCN: "wildcard", wantALPN: "h2", wantVer: tls.VersionTLS12},
		{desc: "alpnProtocols", sni: "h1.example.com", wantCN: "wildcard", wantALPN: "http/1.1", wantVer: tls.VersionTLS13},
		{desc: "cipherSuites", sni: "suite.example.com", client: tls12, wantCN: "wildcard", wantALPN: "h2",
			wantVer: tls.VersionTLS12, wantSuite: tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384},
		{desc: "invalid option fails the handshake", sni: "invalid.example.com", wantCN: "error"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			st, err := handshake(t, addr, tt.sni, tt.client)
			if got := servedCN(st, err); got != tt.wantCN {
				t.Fatalf("served %q (%v), want %q", got, err, tt.wantCN)
			}
			if err != nil {
				return
			}
			if st.NegotiatedProtocol != tt.wantALPN {
				t.Errorf("ALPN %q, want %q", st.NegotiatedProtocol, tt.wantALPN)
			}
			if st.Version != tt.wantVer {
				t.Errorf("version %s, want %s", tls.VersionName(st.Version), tls.VersionName(tt.wantVer))
			}
			if tt.wantSuite != 0 && st.CipherSuite != tt.wantSuite {
				t.Errorf("suite %s, want %s", tls.CipherSuiteName(st.CipherSuite), tls.CipherSuiteName(tt.wantSuite))
			}
		})
	}
	if calls.Load() == 0 {
		t.Error("the options callback was never called")
	}
}

func TestServerConfigCachesOptions(t *testing.T) {
	var current atomic.Pointer[Store]
	current.Store(&Store{})
	opt := &config.TLSOption{MinVersion: "VersionTLS13"}
	bad := &config.TLSOption{CipherSuites: []string{"nope"}}
	cfg := ServerConfig(current.Load, func(name string) *config.TLSOption {
		if name == "bad.test" {
			return bad
		}
		return opt
	})
	get := func(sni string) (*tls.Config, error) {
		return cfg.GetConfigForClient(&tls.ClientHelloInfo{ServerName: sni})
	}
	a, _ := get("a.test")
	b, _ := get("b.test")
	if a == nil || a != b {
		t.Fatal("the same option was compiled twice for one store")
	}
	if a.MinVersion != tls.VersionTLS13 {
		t.Errorf("MinVersion %x, want TLS 1.3", a.MinVersion)
	}
	hello := &tls.ClientHelloInfo{ServerName: "a.test"}
	if n := testing.AllocsPerRun(100, func() { _, _ = cfg.GetConfigForClient(hello) }); n != 0 {
		t.Errorf("%v allocations per cached option lookup, want 0", n)
	}
	current.Store(&Store{})
	if c, _ := get("a.test"); c == a {
		t.Error("the option cache was not renewed with the store")
	}
	want := `invalid TLS option: cipherSuites "nope": unknown cipher suite; valid: `
	if _, err := get("bad.test"); err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("invalid option gave %v, want %q...", err, want)
	}
	if _, err := get("bad.test"); err == nil {
		t.Error("the cached invalid option no longer fails")
	}
}
