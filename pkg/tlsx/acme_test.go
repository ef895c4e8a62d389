package tlsx

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/berthproxy/berth/pkg/config"
)

func TestWithCertificates(t *testing.T) {
	exact := mkCert(t, certSpec{cn: "file exact", dns: []string{"www.example.com"}})
	wild := mkCert(t, certSpec{cn: "file wildcard", dns: []string{"*.example.com"}})
	def := mkCert(t, certSpec{cn: "store default"})
	acmeCert := mkCert(t, certSpec{cn: "acme", dns: []string{"api.example.com", "acme.test"}})
	acmeTLS, err := tls.X509KeyPair([]byte(acmeCert.certPEM), []byte(acmeCert.keyPEM))
	if err != nil {
		t.Fatal(err)
	}
	acmeTLS.Leaf, _ = x509.ParseCertificate(acmeTLS.Certificate[0])
	withDefault := mustBuild(t, &config.TLS{
		Certificates: []*config.CertAndStores{exact.inline(""), wild.inline("")},
		Stores:       map[string]*config.TLSStore{"default": {DefaultCertificate: &config.Certificate{CertFile: def.certPEM, KeyFile: def.keyPEM}}},
	})
	extra := func(h *tls.ClientHelloInfo) *tls.Certificate {
		if h.ServerName == "acme.test" || h.ServerName == "api.example.com" {
			return &acmeTLS
		}
		return nil
	}
	tests := []struct {
		desc   string
		sni    string
		strict bool
		want   string
	}{
		{desc: "file exact certificate first", sni: "www.example.com", want: "file exact"},
		{desc: "file wildcard before ACME", sni: "api.example.com", want: "file wildcard"},
		{desc: "ACME before the default certificate", sni: "acme.test", want: "acme"},
		{desc: "default certificate last", sni: "other.test", want: "store default"},
		{desc: "strict SNI accepts an ACME certificate", sni: "acme.test", strict: true, want: "acme"},
		{desc: "strict SNI still fails without any", sni: "other.test", strict: true, want: "error: " + errNoStrictMatch.Error()},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			opts := func(string) *config.TLSOption { return nil }
			if tt.strict {
				strict := &config.TLSOption{SniStrict: true}
				opts = func(string) *config.TLSOption { return strict }
			}
			cfg := ServerConfig(func() *Store { return withDefault }, opts, WithCertificates(extra))
			hello := &tls.ClientHelloInfo{ServerName: tt.sni}
			getCert := cfg.GetCertificate
			if c, err := cfg.GetConfigForClient(hello); err != nil {
				t.Fatal(err)
			} else if c != nil {
				getCert = c.GetCertificate
			}
			if got := cn(getCert(hello)); got != tt.want {
				t.Errorf("served %q, want %q", got, tt.want)
			}
		})
	}
}

// deadlineConn records the deadlines set on a connection.
type deadlineConn struct {
	net.Conn
	mu        sync.Mutex
	deadlines []time.Time
}

func (c *deadlineConn) SetDeadline(t time.Time) error {
	c.mu.Lock()
	c.deadlines = append(c.deadlines, t)
	c.mu.Unlock()
	return c.Conn.SetDeadline(t)
}

func TestTLSALPNChallenge(t *testing.T) {
	chal := mkCert(t, certSpec{cn: "challenge", dns: []string{"a.test"}})
	chalTLS, err := tls.X509KeyPair([]byte(chal.certPEM), []byte(chal.keyPEM))
	if err != nil {
		t.Fatal(err)
	}
	pending := func(h *tls.ClientHelloInfo) (*tls.Certificate, error) {
		if h.ServerName == "a.test" {
			return &chalTLS, nil
		}
		return nil, errors.New("no challenge pending")
	}
	tests := []struct {
		desc      string
		sni       string
		protos    []string
		wantProto string
		wantCN    string
		wantErr   bool
	}{
		{desc: "validation gets the challenge certificate", sni: "a.test", protos: []string{ACMETLSALPNProtocol},
			wantProto: ACMETLSALPNProtocol, wantCN: "challenge"},
		{desc: "validation without a pending challenge fails", sni: "b.test", protos: []string{ACMETLSALPNProtocol}, wantErr: true},
		{desc: "a client offering other protocols too is not a validation", sni: "a.test", protos: []string{"h2", ACMETLSALPNProtocol},
			wantProto: "h2", wantCN: DefaultCertCommonName},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			cfg := ServerConfig(func() *Store { return emptyStore }, nil, WithTLSALPN(pending))
			c1, c2 := net.Pipe()
			dc := &deadlineConn{Conn: c1}
			srv := tls.Server(dc, cfg)
			errc := make(chan error, 1)
			// Only the raw pipe is closed: a TLS close_notify would block
			// on the synchronous pipe until the client reads it.
			go func() { errc <- srv.Handshake(); _ = c1.Close() }()
			cli := tls.Client(c2, &tls.Config{ServerName: tt.sni, NextProtos: tt.protos, InsecureSkipVerify: true})
			_ = cli.SetDeadline(time.Now().Add(5 * time.Second))
			cerr := cli.Handshake()
			serr := <-errc
			_ = c2.Close()
			if tt.wantErr {
				if serr == nil {
					t.Fatal("handshake succeeded")
				}
				return
			}
			if cerr != nil || serr != nil {
				t.Fatalf("client %v, server %v", cerr, serr)
			}
			st := cli.ConnectionState()
			if st.NegotiatedProtocol != tt.wantProto || st.PeerCertificates[0].Subject.CommonName != tt.wantCN {
				t.Errorf("got %q with %q, want %q with %q", st.NegotiatedProtocol, st.PeerCertificates[0].Subject.CommonName, tt.wantProto, tt.wantCN)
			}
			dc.mu.Lock()
			defer dc.mu.Unlock()
			if tt.wantProto == ACMETLSALPNProtocol {
				// The validation bounds its own handshake, whatever the
				// entrypoint's timeouts.
				if len(dc.deadlines) == 0 || time.Until(dc.deadlines[0]) > ChallengeHandshakeTimeout {
					t.Errorf("deadlines %v, want one within %v", dc.deadlines, ChallengeHandshakeTimeout)
				}
			}
		})
	}
}
