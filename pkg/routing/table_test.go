package routing

import (
	"testing"

	"github.com/berthproxy/berth/pkg/config"
)

func TestTLSOption(t *testing.T) {
	def := &config.TLSOption{MinVersion: "VersionTLS12"}
	exact := &config.TLSOption{MinVersion: "VersionTLS13"}
	wild := &config.TLSOption{MaxVersion: "VersionTLS12"}
	tb := &Table{
		tlsOptions: map[string]*config.TLSOption{"a.example.com": exact, "*.example.com": wild},
		defaultTLS: def,
	}
	tests := []struct {
		desc, name string
		want       *config.TLSOption
	}{
		{desc: "exact host", name: "a.example.com", want: exact},
		{desc: "exact host, any case", name: "A.Example.com", want: exact},
		{desc: "wildcard covers one label", name: "b.example.com", want: wild},
		{desc: "wildcard does not cover two labels", name: "c.b.example.com", want: def},
		{desc: "unknown host gets the default", name: "other.test", want: def},
		{desc: "no SNI gets the default", name: "", want: def},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			if got := tb.TLSOption(tc.name); got != tc.want {
				t.Fatalf("TLSOption(%q) = %+v, want %+v", tc.name, got, tc.want)
			}
		})
	}
}

func TestTransportTLSConfigIsSharedAcrossBuilds(t *testing.T) {
	p := NewPools(nil)
	tests := []struct {
		desc string
		a, b *config.ServersTransport
		same bool
	}{
		{desc: "equal transports share one TLS config", a: &config.ServersTransport{InsecureSkipVerify: true}, b: &config.ServersTransport{InsecureSkipVerify: true}, same: true},
		{desc: "a different server name gets its own", a: &config.ServersTransport{ServerName: "a.test"}, b: &config.ServersTransport{ServerName: "b.test"}, same: false},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			oa, err := p.transportOptions(tc.a)
			if err != nil {
				t.Fatal(err)
			}
			ob, err := p.transportOptions(tc.b)
			if err != nil {
				t.Fatal(err)
			}
			if (oa.TLSConfig == ob.TLSConfig) != tc.same {
				t.Fatalf("same pointer = %v, want %v", oa.TLSConfig == ob.TLSConfig, tc.same)
			}
		})
	}
}
