package tlsx

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/berthproxy/berth/pkg/config"
)

// errKeyMismatch is the cause reported when a key is not the certificate's.
var errKeyMismatch = errors.New("key does not match certificate")

// isInline reports whether a certFile or keyFile value is PEM text rather
// than a path; Traefik accepts both in the same field.
func isInline(v string) bool { return strings.Contains(v, "-----BEGIN") }

// describe names a certificate for messages: its path, or "(inline PEM)".
func describe(certFile string) string {
	if isInline(certFile) {
		return "certificate (inline PEM)"
	}
	return fmt.Sprintf("certificate %q", certFile)
}

// readPEM returns the PEM text of a field: the value itself when inline,
// else the file's contents. The error of os.ReadFile already names the path.
func readPEM(v string) ([]byte, error) {
	if isInline(v) {
		return []byte(v), nil
	}
	return os.ReadFile(v)
}

// loadPair loads a certificate chain and its private key and checks that
// they belong together. The returned certificate has Leaf set. Errors give
// the cause only; the caller prefixes the certificate's name.
func loadPair(c config.Certificate) (*tls.Certificate, error) {
	if c.CertFile == "" {
		return nil, errors.New("certFile is empty")
	}
	if c.KeyFile == "" {
		return nil, errors.New("keyFile is empty")
	}
	certPEM, err := readPEM(c.CertFile)
	if err != nil {
		return nil, err
	}
	var chain [][]byte
	for rest := certPEM; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type == "CERTIFICATE" {
			chain = append(chain, b.Bytes)
		}
	}
	if len(chain) == 0 {
		return nil, errors.New("no CERTIFICATE PEM block found")
	}
	leaf, err := x509.ParseCertificate(chain[0])
	if err != nil {
		return nil, fmt.Errorf("parsing certificate: %w", err)
	}
	keyPEM, err := readPEM(c.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("key: %w", err)
	}
	key, err := parseKey(keyPEM)
	if err != nil {
		return nil, fmt.Errorf("key: %w", err)
	}
	pub, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(leaf.PublicKey) {
		return nil, errKeyMismatch
	}
	return &tls.Certificate{Certificate: chain, PrivateKey: key, Leaf: leaf}, nil
}

// parseKey finds the first private key in PEM text, in any of the
// encodings OpenSSL and Go write (PKCS#8, PKCS#1, SEC 1).
func parseKey(data []byte) (crypto.Signer, error) {
	for rest := data; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			return nil, errors.New("no PRIVATE KEY PEM block found")
		}
		var key any
		var err error
		switch b.Type {
		case "PRIVATE KEY":
			key, err = x509.ParsePKCS8PrivateKey(b.Bytes)
		case "RSA PRIVATE KEY":
			key, err = x509.ParsePKCS1PrivateKey(b.Bytes)
		case "EC PRIVATE KEY":
			key, err = x509.ParseECPrivateKey(b.Bytes)
		default:
			// "EC PARAMETERS" and certificates may precede the key.
			continue
		}
		if err != nil {
			return nil, err
		}
		switch k := key.(type) {
		case *rsa.PrivateKey:
			return k, nil
		case *ecdsa.PrivateKey:
			return k, nil
		case ed25519.PrivateKey:
			return k, nil
		default:
			return nil, fmt.Errorf("unsupported private key type %T", key)
		}
	}
}
