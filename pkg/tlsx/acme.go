package tlsx

import (
	"crypto/tls"
	"errors"
	"time"
)

// ACMETLSALPNProtocol is the ALPN protocol of the ACME TLS-ALPN-01
// challenge (RFC 8737). A connection that negotiated it carries no HTTP and
// must be closed right after the handshake.
const ACMETLSALPNProtocol = "acme-tls/1"

// ChallengeHandshakeTimeout bounds the whole handshake of a TLS-ALPN-01
// validation, whatever the entrypoint's timeouts (which may be zero): a
// client that offers acme-tls/1 and then goes silent must not hold a
// goroutine forever (Traefik CVE-2026-22045).
const ChallengeHandshakeTimeout = 10 * time.Second

// Option adds a certificate source to ServerConfig.
type Option func(*server)

// WithCertificates adds a second source of certificates, such as the ACME
// manager: it is consulted when the Store has no exact or wildcard
// certificate for the server name, before the default certificate (and
// before failing a strict-SNI handshake). lookup returns nil when it has
// none. It runs on the handshake goroutine, so it must be fast, or bounded
// when it has to wait (on-demand issuance).
func WithCertificates(lookup func(*tls.ClientHelloInfo) *tls.Certificate) Option {
	return func(s *server) { s.extra = lookup }
}

// WithTLSALPN answers ACME TLS-ALPN-01 validations: a ClientHello that
// offers only acme-tls/1 is served challenge(hello), the self-signed
// challenge certificate for its server name, with acme-tls/1 negotiated. An
// error fails the handshake (no challenge is pending for the name).
func WithTLSALPN(challenge func(*tls.ClientHelloInfo) (*tls.Certificate, error)) Option {
	return func(s *server) { s.alpnChallenge = challenge }
}

// certificate is GetCertificate with the extra source: the Store's exact
// and wildcard certificates, then the extra source, then the default
// certificate (or failure when strict).
func (s *server) certificate(hello *tls.ClientHelloInfo, strict bool) (*tls.Certificate, error) {
	st := s.store()
	if c := st.match(hello); c != nil {
		return c, nil
	}
	if c := s.extra(hello); c != nil {
		return c, nil
	}
	if strict {
		return nil, errNoStrictMatch
	}
	if st.def != nil {
		return st.def, nil
	}
	return generated()
}

// isACMEChallenge reports whether a ClientHello is a TLS-ALPN-01
// validation: RFC 8737 requires the validator to offer acme-tls/1 alone.
func isACMEChallenge(hello *tls.ClientHelloInfo) bool {
	return len(hello.SupportedProtos) == 1 && hello.SupportedProtos[0] == ACMETLSALPNProtocol
}

// errNoChallengeConn fails a validation handshake that has no connection
// to bound, which only happens in tests that build a ClientHelloInfo.
var errNoChallengeConn = errors.New("acme-tls/1: no connection")

// challengeConfig answers a TLS-ALPN-01 validation. It bounds the rest of
// the handshake itself rather than trusting the caller's deadline.
func (s *server) challengeConfig(hello *tls.ClientHelloInfo) (*tls.Config, error) {
	if hello.Conn == nil {
		return nil, errNoChallengeConn
	}
	_ = hello.Conn.SetDeadline(time.Now().Add(ChallengeHandshakeTimeout))
	cert, err := s.alpnChallenge(hello)
	if err != nil {
		return nil, err
	}
	return &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{*cert},
		NextProtos:   []string{ACMETLSALPNProtocol},
	}, nil
}
