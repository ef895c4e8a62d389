package acme

import (
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"net/url"
	"os"
	"strings"

	"github.com/berthproxy/berth/pkg/config"
)

// keyTypes are the certificate key types of Traefik's keyType setting.
var keyTypes = []string{"EC256", "EC384", "RSA2048", "RSA4096", "RSA8192"}

// Validate checks a resolver's configuration and returns every problem
// found, each naming its static key and saying what would be valid. All are
// fatal: berth does not start with a resolver it cannot use. Checking that
// httpChallenge.entryPoint exists is left to the static configuration
// loader, which checks every entrypoint reference.
func Validate(name string, a *config.ACME) []config.Issue {
	prefix := "certificatesResolvers." + name + ".acme"
	var issues []config.Issue
	bad := func(key, value, format string, args ...any) {
		issues = append(issues, config.Issue{Kind: "static", Key: prefix + key, Value: value,
			Msg: fmt.Sprintf(format, args...), Fatal: true})
	}
	if a == nil {
		bad("", "", "the resolver defines no acme section")
		return issues
	}
	if a.Email != "" && (!strings.Contains(a.Email, "@") || strings.ContainsAny(a.Email, " \t<>")) {
		bad(".email", a.Email, "not an email address")
	}
	if u, err := url.Parse(a.CAServer); err != nil || u.Scheme != "https" || u.Host == "" {
		bad(".caServer", a.CAServer, "want the https URL of the CA's ACME directory, such as https://acme-v02.api.letsencrypt.org/directory")
	}
	if strings.TrimSpace(a.Storage) == "" {
		bad(".storage", a.Storage, "a storage file is required, such as acme.json")
	}
	if _, ok := parseKeyType(a.KeyType); !ok {
		bad(".keyType", a.KeyType, "want one of %s", strings.Join(keyTypes, ", "))
	}
	for i, f := range a.CACertificates {
		if _, err := loadRoots([]string{f}); err != nil {
			bad(fmt.Sprintf(".caCertificates[%d]", i), f, "%v", err)
		}
	}
	if e := a.EAB; e != nil {
		if e.Kid == "" {
			bad(".eab.kid", "", "external account binding needs the key ID the CA gave you")
		}
		if e.HmacEncoded == "" {
			bad(".eab.hmacEncoded", "", "external account binding needs the base64url HMAC key the CA gave you")
		} else if _, err := decodeHMAC(e.HmacEncoded); err != nil {
			bad(".eab.hmacEncoded", "(hidden)", "not base64url: %v", err)
		}
	}
	if a.HTTPChallenge == nil && a.TLSChallenge == nil {
		bad("", "", "no challenge is configured: set httpChallenge.entryPoint or tlsChallenge (dnsChallenge is not supported)")
	}
	if o := a.OnDemand; o != nil {
		if u, err := url.Parse(o.Ask); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad(".onDemand.ask", o.Ask, "on-demand TLS needs the http(s) URL that allows names, such as http://127.0.0.1:5555/allowed; it is asked ?domain=NAME and must answer 200")
		}
		if o.RateLimit < 0 {
			bad(".onDemand.rateLimit", fmt.Sprint(o.RateLimit), "want a number of orders per minute, 0 for the default (10)")
		}
	}
	return issues
}

// keyType is a certificate key type.
type keyType struct {
	ec   bool
	bits int // curve size or RSA modulus size
}

func parseKeyType(s string) (keyType, bool) {
	switch strings.ToUpper(s) {
	case "", "EC256":
		return keyType{ec: true, bits: 256}, true
	case "EC384":
		return keyType{ec: true, bits: 384}, true
	case "RSA2048":
		return keyType{bits: 2048}, true
	case "RSA4096":
		return keyType{bits: 4096}, true
	case "RSA8192":
		return keyType{bits: 8192}, true
	}
	return keyType{}, false
}

// decodeHMAC decodes an EAB HMAC key. CAs hand it out base64url without
// padding; padded and standard base64 are accepted too.
func decodeHMAC(s string) ([]byte, error) {
	var first error
	for _, enc := range []*base64.Encoding{base64.RawURLEncoding, base64.URLEncoding, base64.StdEncoding, base64.RawStdEncoding} {
		b, err := enc.DecodeString(s)
		if err == nil {
			return b, nil
		}
		if first == nil {
			first = err
		}
	}
	return nil, first
}

// loadRoots returns the system roots plus the CA certificates of files
// (PEM), so that a private CA (Pebble, step-ca) is trusted without
// distrusting public ones.
func loadRoots(files []string) (*x509.CertPool, error) {
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		if !pool.AppendCertsFromPEM(b) {
			return nil, fmt.Errorf("%s: no PEM certificate found", f)
		}
	}
	return pool, nil
}
