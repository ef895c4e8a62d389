package tlsx

import (
	"crypto/tls"
	"errors"
	"strings"
	"time"
)

// normalize turns a server name or certificate name into the form names are
// indexed by: lower case, without the trailing dot of a fully qualified
// name. It does not allocate for names that are already lower case.
func normalize(name string) string {
	return strings.ToLower(strings.TrimSuffix(name, "."))
}

// GetCertificate returns the certificate for a handshake: the one for the
// exact server name, else the wildcard one for its first label replaced,
// else the store's default certificate, else the generated default. It is
// meant for tls.Config.GetCertificate and does not allocate for lower-case
// server names.
func (s *Store) GetCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	if c := s.match(hello); c != nil {
		return c, nil
	}
	if s.def != nil {
		return s.def, nil
	}
	return generated()
}

// errNoStrictMatch fails handshakes that sniStrict rejects.
var errNoStrictMatch = errors.New("strict SNI: no certificate for the server name")

// strictCertificate is GetCertificate for sniStrict options: no default
// certificate, a handshake without a matching certificate fails.
func (s *Store) strictCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	if c := s.match(hello); c != nil {
		return c, nil
	}
	return nil, errNoStrictMatch
}

// match returns the best certificate covering the server name, or nil.
func (s *Store) match(hello *tls.ClientHelloInfo) *tls.Certificate {
	name := normalize(hello.ServerName)
	if name == "" {
		return nil
	}
	if list := s.exact[name]; len(list) > 0 {
		return choose(hello, list)
	}
	// A wildcard covers exactly one label: "*.example.com" matches
	// "a.example.com" but neither "example.com" nor "a.b.example.com".
	if i := strings.IndexByte(name, '.'); i > 0 && i < len(name)-1 {
		if list := s.wildcard[name[i+1:]]; len(list) > 0 {
			return choose(hello, list)
		}
	}
	return nil
}

// choose picks among certificates for the same name: one that is valid now,
// then ECDSA when the client supports it (smaller and faster handshakes),
// then the latest expiry (list is sorted by expiry, latest first). An ECDSA
// certificate the client cannot use ranks below an RSA one.
func choose(hello *tls.ClientHelloInfo, list []*entry) *tls.Certificate {
	if len(list) == 1 {
		return list[0].cert
	}
	now := time.Now()
	best, bestRank := list[0], -1
	for _, e := range list {
		rank := 0
		if !now.Before(e.notBefore) && !now.After(e.notAfter) {
			rank += 4
		}
		if e.ecdsa {
			if hello.SupportsCertificate(e.cert) == nil {
				rank += 3
			}
		} else {
			rank += 2
		}
		if rank > bestRank {
			best, bestRank = e, rank
		}
	}
	return best.cert
}
