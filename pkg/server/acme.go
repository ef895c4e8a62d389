package server

import (
	"crypto/tls"
	"errors"
	"net/http"

	"github.com/berthproxy/berth/pkg/tlsx"
)

// ACME is what the entrypoints need from an ACME certificate manager
// (pkg/acme.Manager). pkg/server names only this interface so that it does
// not depend on the ACME client.
type ACME interface {
	// ServeHTTPChallenge answers an HTTP-01 validation request on the
	// entrypoint and reports whether it did; it answers only on the
	// entrypoints named by httpChallenge.entryPoint, under
	// /.well-known/acme-challenge/.
	ServeHTTPChallenge(entryPoint string, w http.ResponseWriter, r *http.Request) bool
	// Certificate returns the ACME certificate for a handshake, or nil.
	Certificate(hello *tls.ClientHelloInfo) *tls.Certificate
	// TLSALPNCertificate returns the TLS-ALPN-01 challenge certificate
	// for the handshake's server name, or an error if none is pending.
	TLSALPNCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error)
}

// acmeBox holds the ACME manager behind an atomic pointer: handshakes and
// requests read it without locks, and it may be set after New.
type acmeBox struct{ a ACME }

// SetACME puts an ACME manager in force: from then on HTTP-01 requests are
// answered ahead of every router and redirection, TLS-ALPN-01 handshakes
// are answered, and its certificates are served when the table's store has
// none for the name.
func (s *Server) SetACME(a ACME) { s.acme.Store(&acmeBox{a: a}) }

// tlsOptions are the tlsx options that route handshakes to the ACME
// manager, whenever it is set.
func (s *Server) tlsOptions() []tlsx.Option {
	return []tlsx.Option{
		tlsx.WithCertificates(func(hello *tls.ClientHelloInfo) *tls.Certificate {
			if b := s.acme.Load(); b != nil {
				return b.a.Certificate(hello)
			}
			return nil
		}),
		tlsx.WithTLSALPN(func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
			if b := s.acme.Load(); b != nil {
				return b.a.TLSALPNCertificate(hello)
			}
			return nil, errNoACME
		}),
	}
}

var errNoACME = errors.New("acme-tls/1: no certificate resolver is configured")

// serveACMEChallenge answers an HTTP-01 validation request, if it is one
// for this entrypoint.
func (ep *EntryPoint) serveACMEChallenge(w http.ResponseWriter, r *http.Request) bool {
	b := ep.srv.acme.Load()
	return b != nil && b.a.ServeHTTPChallenge(ep.Name, w, r)
}

// isACMEValidation reports whether a TLS connection was a TLS-ALPN-01
// validation, which carries no HTTP: the caller closes it at once instead
// of waiting for a request that never comes.
func isACMEValidation(tc *tls.Conn) bool {
	return tc.ConnectionState().NegotiatedProtocol == tlsx.ACMETLSALPNProtocol
}
