package acme

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berthproxy/berth/pkg/config"
)

func TestValidate(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "not.pem")
	if err := os.WriteFile(notPEM, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	valid := func() *config.ACME {
		a := &config.ACME{}
		a.SetDefaults()
		a.Email = "admin@example.com"
		a.HTTPChallenge = &config.HTTPChallenge{EntryPoint: "web"}
		return a
	}
	tests := []struct {
		desc   string
		change func(a *config.ACME) *config.ACME
		want   []string // substrings of the issues, in order; nil: valid
	}{
		{desc: "defaults with a challenge are valid", change: func(a *config.ACME) *config.ACME { return a }},
		{desc: "TLS challenge, EC384, EAB, on-demand are valid", change: func(a *config.ACME) *config.ACME {
			a.HTTPChallenge, a.TLSChallenge, a.KeyType = nil, &config.TLSChallenge{}, "ec384"
			a.EAB = &config.EAB{Kid: "kid-1", HmacEncoded: "c2VjcmV0LWtleQ"}
			a.OnDemand = &config.OnDemand{Ask: "http://127.0.0.1:9/allow", RateLimit: 3}
			return a
		}},
		{desc: "missing section", change: func(*config.ACME) *config.ACME { return nil },
			want: []string{`"certificatesResolvers.le.acme": the resolver defines no acme section`}},
		{desc: "no challenge", change: func(a *config.ACME) *config.ACME { a.HTTPChallenge = nil; return a },
			want: []string{"no challenge is configured: set httpChallenge.entryPoint or tlsChallenge (dnsChallenge is not supported)"}},
		{desc: "bad key type", change: func(a *config.ACME) *config.ACME { a.KeyType = "P256"; return a },
			want: []string{`"certificatesResolvers.le.acme.keyType" = "P256": want one of EC256, EC384, RSA2048, RSA4096, RSA8192`}},
		{desc: "plain HTTP CA", change: func(a *config.ACME) *config.ACME { a.CAServer = "http://ca.test/dir"; return a },
			want: []string{`"certificatesResolvers.le.acme.caServer" = "http://ca.test/dir": want the https URL`}},
		{desc: "bad email", change: func(a *config.ACME) *config.ACME { a.Email = "admin"; return a },
			want: []string{`"certificatesResolvers.le.acme.email" = "admin": not an email address`}},
		{desc: "no storage", change: func(a *config.ACME) *config.ACME { a.Storage = ""; return a },
			want: []string{`storage file is required`}},
		{desc: "CA certificates missing or not PEM", change: func(a *config.ACME) *config.ACME {
			a.CACertificates = []string{filepath.Join(dir, "missing.pem"), notPEM}
			return a
		}, want: []string{`caCertificates[0]`, `no such file`, `caCertificates[1]`, `no PEM certificate found`}},
		{desc: "EAB incomplete and not base64", change: func(a *config.ACME) *config.ACME {
			a.EAB = &config.EAB{HmacEncoded: "not base64!"}
			return a
		}, want: []string{`eab.kid`, `eab.hmacEncoded" = "(hidden)": not base64url`}},
		{desc: "on-demand without ask URL, negative rate", change: func(a *config.ACME) *config.ACME {
			a.OnDemand = &config.OnDemand{RateLimit: -1}
			return a
		}, want: []string{`onDemand.ask`, `onDemand.rateLimit" = "-1"`}},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			issues := Validate("le", tt.change(valid()))
			all := ""
			for _, is := range issues {
				if !is.Fatal || is.Kind != "static" {
					t.Errorf("issue %v: want fatal, kind static", is)
				}
				all += is.Error() + "\n"
			}
			if tt.want == nil {
				if len(issues) > 0 {
					t.Errorf("want valid, got:\n%s", all)
				}
				return
			}
			rest := all
			for _, w := range tt.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("issues do not contain %q (in order):\n%s", w, all)
				}
				rest = rest[i+len(w):]
			}
		})
	}
}
