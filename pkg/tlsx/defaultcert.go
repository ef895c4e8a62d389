package tlsx

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"sync"
	"time"
)

// DefaultCertCommonName is the subject of the generated default certificate,
// served when nothing else matches, so that users can recognise it.
const DefaultCertCommonName = "BERTH DEFAULT CERT"

// generated is the self-signed default certificate, made on first use: most
// deployments configure their own default and never pay for key generation,
// and one per process keeps it stable across reloads.
var generated = sync.OnceValues(func() (*tls.Certificate, error) {
	return selfSigned(DefaultCertCommonName, time.Now(), 365*24*time.Hour)
})

// selfSigned makes an ECDSA P-256 certificate for cn valid from now for d.
func selfSigned(cn string, now time.Time, d time.Duration) (*tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             now.Add(-time.Minute), // tolerate small clock skew
		NotAfter:              now.Add(d),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
}
