package tlsx

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/berthproxy/berth/pkg/config"
)

// certSpec describes a test certificate. cn identifies it in assertions.
type certSpec struct {
	cn        string
	dns       []string
	notBefore time.Time // zero: an hour ago
	notAfter  time.Time // zero: in 30 days
	rsa       bool
}

// pair is a generated certificate and key in PEM.
type pair struct {
	certPEM, keyPEM string
}

// rsaKey is shared by RSA test certificates because generating one is slow.
var rsaKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

func mkCert(t testing.TB, s certSpec) pair {
	t.Helper()
	var key crypto.Signer
	if s.rsa {
		key = rsaKey()
	} else {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		key = k
	}
	now := time.Now()
	if s.notBefore.IsZero() {
		s.notBefore = now.Add(-time.Hour)
	}
	if s.notAfter.IsZero() {
		s.notAfter = now.Add(30 * 24 * time.Hour)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: s.cn},
		DNSNames:     s.dns,
		NotBefore:    s.notBefore,
		NotAfter:     s.notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pair{
		certPEM: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		keyPEM:  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})),
	}
}

// inline is a tls.certificates entry with inline PEM.
func (p pair) inline(source string) *config.CertAndStores {
	return &config.CertAndStores{Certificate: config.Certificate{CertFile: p.certPEM, KeyFile: p.keyPEM}, Source: source}
}

// write stores the pair as certs/<name>.pem and certs/<name>.key under the
// working directory and returns the entry naming those files.
func (p pair) write(t testing.TB, name string) *config.CertAndStores {
	t.Helper()
	if err := os.MkdirAll("certs", 0o755); err != nil {
		t.Fatal(err)
	}
	c := &config.CertAndStores{Certificate: config.Certificate{
		CertFile: filepath.Join("certs", name+".pem"),
		KeyFile:  filepath.Join("certs", name+".key"),
	}}
	if err := os.WriteFile(c.CertFile, []byte(p.certPEM), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(c.KeyFile, []byte(p.keyPEM), 0o600); err != nil {
		t.Fatal(err)
	}
	return c
}

// mustBuild builds a store and fails on any issue.
func mustBuild(t testing.TB, cfg *config.TLS) *Store {
	t.Helper()
	s, issues := Build(cfg)
	for _, i := range issues {
		t.Errorf("unexpected issue: %v", i)
	}
	return s
}

// cn is the common name of a served certificate, or the error.
func cn(c *tls.Certificate, err error) string {
	if err != nil {
		return "error: " + err.Error()
	}
	if c == nil {
		return "<nil>"
	}
	return c.Leaf.Subject.CommonName
}
