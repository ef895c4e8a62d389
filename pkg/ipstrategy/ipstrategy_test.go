package ipstrategy

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
)

func req(remote string, xff ...string) *http.Request {
	r := httptest.NewRequest("GET", "http://example.com/", nil)
	r.RemoteAddr = remote
	if len(xff) > 0 {
		r.Header["X-Forwarded-For"] = xff
	}
	return r
}

func TestClientIP(t *testing.T) {
	tests := []struct {
		desc   string
		opts   *Options
		remote string
		xff    []string
		want   string // "" means no usable address
	}{
		{desc: "default: RemoteAddr host", remote: "192.0.2.1:1234", xff: []string{"203.0.113.9"}, want: "192.0.2.1"},
		{desc: "default: bare RemoteAddr", remote: "192.0.2.1", want: "192.0.2.1"},
		{desc: "default: IPv6 RemoteAddr", remote: "[2001:db8::1]:443", want: "2001:db8::1"},
		{desc: "default: mapped IPv4 is unmapped", remote: "[::ffff:192.0.2.1]:80", want: "192.0.2.1"},
		{desc: "default: zone dropped", remote: "[fe80::1%eth0]:80", want: "fe80::1"},
		{desc: "default: garbage RemoteAddr", remote: "pipe", want: ""},
		{desc: "empty options: RemoteAddr", opts: &Options{}, remote: "192.0.2.1:1", xff: []string{"203.0.113.9"}, want: "192.0.2.1"},

		{desc: "depth 1: last entry", opts: &Options{Depth: 1}, remote: "10.0.0.1:1", xff: []string{"1.1.1.1, 2.2.2.2, 3.3.3.3"}, want: "3.3.3.3"},
		{desc: "depth 2", opts: &Options{Depth: 2}, remote: "10.0.0.1:1", xff: []string{"1.1.1.1, 2.2.2.2, 3.3.3.3"}, want: "2.2.2.2"},
		{desc: "depth equal to length", opts: &Options{Depth: 3}, remote: "10.0.0.1:1", xff: []string{"1.1.1.1,2.2.2.2,3.3.3.3"}, want: "1.1.1.1"},
		{desc: "depth beyond length: none", opts: &Options{Depth: 4}, remote: "10.0.0.1:1", xff: []string{"1.1.1.1,2.2.2.2,3.3.3.3"}, want: ""},
		{desc: "depth without header: none, never RemoteAddr", opts: &Options{Depth: 1}, remote: "10.0.0.1:1", want: ""},
		{desc: "depth counts empty entries", opts: &Options{Depth: 2}, remote: "10.0.0.1:1", xff: []string{"1.1.1.1,,3.3.3.3"}, want: ""},
		{desc: "depth across header lines, rightmost line last", opts: &Options{Depth: 2}, remote: "10.0.0.1:1", xff: []string{"1.1.1.1, 2.2.2.2", "3.3.3.3"}, want: "2.2.2.2"},
		{desc: "depth 1 with a spoofed first line", opts: &Options{Depth: 1}, remote: "10.0.0.1:1", xff: []string{"6.6.6.6", "3.3.3.3"}, want: "3.3.3.3"},
		{desc: "depth entry with port", opts: &Options{Depth: 1}, remote: "10.0.0.1:1", xff: []string{"192.0.2.5:8080"}, want: "192.0.2.5"},
		{desc: "depth entry bracketed IPv6", opts: &Options{Depth: 1}, remote: "10.0.0.1:1", xff: []string{"[2001:db8::5]"}, want: "2001:db8::5"},
		{desc: "depth entry not an IP", opts: &Options{Depth: 1}, remote: "10.0.0.1:1", xff: []string{"unknown"}, want: ""},
		{desc: "depth wins over excludedIPs", opts: &Options{Depth: 1, ExcludedIPs: []string{"3.3.3.3"}}, remote: "10.0.0.1:1", xff: []string{"2.2.2.2,3.3.3.3"}, want: "3.3.3.3"},

		{desc: "excluded: skips proxies from the right", opts: &Options{ExcludedIPs: []string{"10.0.0.0/8", "3.3.3.3"}}, remote: "10.0.0.1:1", xff: []string{"1.1.1.1, 2.2.2.2, 10.1.1.1, 3.3.3.3"}, want: "2.2.2.2"},
		{desc: "excluded: nothing excluded gives the last", opts: &Options{ExcludedIPs: []string{"10.0.0.0/8"}}, remote: "10.0.0.1:1", xff: []string{"1.1.1.1, 2.2.2.2"}, want: "2.2.2.2"},
		{desc: "excluded: all excluded", opts: &Options{ExcludedIPs: []string{"10.0.0.0/8"}}, remote: "10.0.0.1:1", xff: []string{"10.0.0.2, 10.0.0.3"}, want: ""},
		{desc: "excluded: no header", opts: &Options{ExcludedIPs: []string{"10.0.0.0/8"}}, remote: "10.0.0.1:1", want: ""},
		{desc: "excluded: empty entries skipped", opts: &Options{ExcludedIPs: []string{"10.0.0.0/8"}}, remote: "10.0.0.1:1", xff: []string{"1.1.1.1, ,10.0.0.2,"}, want: "1.1.1.1"},
		{desc: "excluded: garbage entry is the answer and unusable", opts: &Options{ExcludedIPs: []string{"10.0.0.0/8"}}, remote: "10.0.0.1:1", xff: []string{"1.1.1.1, junk, 10.0.0.2"}, want: ""},
		{desc: "excluded: across header lines", opts: &Options{ExcludedIPs: []string{"10.0.0.0/8"}}, remote: "10.0.0.1:1", xff: []string{"1.1.1.1", "10.0.0.2"}, want: "1.1.1.1"},

		{desc: "ipv6Subnet truncates IPv6 RemoteAddr", opts: &Options{IPv6Subnet: 64}, remote: "[2001:db8:1:2:3:4:5:6]:1", want: "2001:db8:1:2::"},
		{desc: "ipv6Subnet leaves IPv4 alone", opts: &Options{IPv6Subnet: 64}, remote: "192.0.2.1:1", want: "192.0.2.1"},
		{desc: "ipv6Subnet leaves mapped IPv4 alone", opts: &Options{IPv6Subnet: 8}, remote: "[::ffff:192.0.2.1]:1", want: "192.0.2.1"},
		{desc: "ipv6Subnet with depth", opts: &Options{Depth: 1, IPv6Subnet: 48}, remote: "10.0.0.1:1", xff: []string{"2001:db8:aaaa:bbbb::1"}, want: "2001:db8:aaaa::"},
		{desc: "ipv6Subnet with excludedIPs", opts: &Options{ExcludedIPs: []string{"10.0.0.0/8"}, IPv6Subnet: 56}, remote: "10.0.0.1:1", xff: []string{"2001:db8:1:ffff::9, 10.0.0.2"}, want: "2001:db8:1:ff00::"},
		{desc: "ipv6Subnet 128 keeps the address", opts: &Options{IPv6Subnet: 128}, remote: "[2001:db8::7]:1", want: "2001:db8::7"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			s, err := New(tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			r := req(tt.remote, tt.xff...)
			before := strings.Join(r.Header["X-Forwarded-For"], "|")
			ip, ok := s.ClientIP(r)
			got := ""
			if ok {
				got = ip.String()
			}
			if got != tt.want {
				t.Fatalf("ClientIP = %q (ok %v), want %q", got, ok, tt.want)
			}
			if after := strings.Join(r.Header["X-Forwarded-For"], "|"); after != before || r.RemoteAddr != tt.remote {
				t.Fatal("the request was modified")
			}
		})
	}
}

func TestClientIPDoesNotAllocate(t *testing.T) {
	s, _ := New(&Options{ExcludedIPs: []string{"10.0.0.0/8"}})
	r := req("10.0.0.1:1", "1.1.1.1, 2.2.2.2, 10.0.0.2, 10.0.0.3")
	if n := testing.AllocsPerRun(100, func() { s.ClientIP(r) }); n != 0 {
		t.Fatalf("ClientIP allocates %v times per call", n)
	}
}

func TestRanges(t *testing.T) {
	tests := []struct {
		desc  string
		list  []string
		ip    string
		want  bool
		error string
	}{
		{desc: "single IPv4", list: []string{"192.0.2.7"}, ip: "192.0.2.7", want: true},
		{desc: "single IPv4 miss", list: []string{"192.0.2.7"}, ip: "192.0.2.8"},
		{desc: "CIDR", list: []string{"10.0.0.0/8"}, ip: "10.255.0.1", want: true},
		{desc: "CIDR with host bits", list: []string{"10.1.2.3/8"}, ip: "10.200.0.1", want: true},
		{desc: "CIDR edge miss", list: []string{"192.0.2.0/25"}, ip: "192.0.2.128"},
		{desc: "spaces trimmed", list: []string{" 192.0.2.7 "}, ip: "192.0.2.7", want: true},
		{desc: "IPv6 CIDR", list: []string{"2001:db8::/32"}, ip: "2001:db8:ffff::1", want: true},
		{desc: "IPv4 range does not match IPv6", list: []string{"0.0.0.0/0"}, ip: "2001:db8::1"},
		{desc: "mapped client matches IPv4 rule", list: []string{"192.0.2.0/24"}, ip: "::ffff:192.0.2.9", want: true},
		{desc: "mapped rule matches IPv4 client", list: []string{"::ffff:192.0.2.9"}, ip: "192.0.2.9", want: true},
		{desc: "mapped CIDR rule", list: []string{"::ffff:10.0.0.0/104"}, ip: "10.9.9.9", want: true},
		{desc: "zone ignored", list: []string{"fe80::1"}, ip: "fe80::1%eth0", want: true},
		{desc: "bad entry names its index", list: []string{"10.0.0.0/8", "10.0.0.0/33"}, error: `[1]: "10.0.0.0/33"`},
		{desc: "empty entry", list: []string{""}, error: "[0]"},
		{desc: "hostname refused", list: []string{"localhost"}, error: "not an IP"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			r, err := ParseRanges(tt.list)
			if tt.error != "" {
				if err == nil || !strings.Contains(err.Error(), tt.error) {
					t.Fatalf("err %v, want %q", err, tt.error)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := r.Contains(netip.MustParseAddr(tt.ip)); got != tt.want {
				t.Fatalf("Contains(%s) = %v, want %v", tt.ip, got, tt.want)
			}
		})
	}
}

func TestOptionsValidate(t *testing.T) {
	tests := []struct {
		desc    string
		opts    *Options
		wantErr string
	}{
		{desc: "nil", opts: nil},
		{desc: "empty", opts: &Options{}},
		{desc: "full", opts: &Options{Depth: 2, ExcludedIPs: []string{"10.0.0.0/8"}, IPv6Subnet: 64}},
		{desc: "negative depth", opts: &Options{Depth: -1}, wantErr: "ipStrategy.depth: -1"},
		{desc: "subnet too large", opts: &Options{IPv6Subnet: 129}, wantErr: "ipStrategy.ipv6Subnet: 129"},
		{desc: "negative subnet", opts: &Options{IPv6Subnet: -8}, wantErr: "ipStrategy.ipv6Subnet"},
		{desc: "bad excluded IP", opts: &Options{ExcludedIPs: []string{"10.0.0.x"}}, wantErr: `ipStrategy.excludedIPs[0]: "10.0.0.x"`},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			err := tt.opts.Validate()
			if (err == nil) != (tt.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("err %v, want %q", err, tt.wantErr)
			}
		})
	}
	if got := (&Options{Depth: 1, ExcludedIPs: []string{"10.0.0.1"}}).Ignored(); !strings.Contains(got, "excludedIPs") {
		t.Fatalf("Ignored() = %q, want excludedIPs named", got)
	}
	if got := (&Options{ExcludedIPs: []string{"10.0.0.1"}}).Ignored(); got != "" {
		t.Fatalf("Ignored() = %q, want nothing", got)
	}
}

func TestSourceCriterionValidate(t *testing.T) {
	tests := []struct {
		desc    string
		c       *SourceCriterion
		wantErr string
	}{
		{desc: "nil", c: nil},
		{desc: "empty", c: &SourceCriterion{}},
		{desc: "header", c: &SourceCriterion{RequestHeaderName: "X-User"}},
		{desc: "two criteria", c: &SourceCriterion{RequestHeaderName: "X-User", RequestHost: true}, wantErr: "sourceCriterion: requestHeaderName and requestHost are mutually exclusive"},
		{desc: "ip and host", c: &SourceCriterion{IPStrategy: &Options{}, RequestHost: true}, wantErr: "ipStrategy and requestHost"},
		{desc: "bad header name", c: &SourceCriterion{RequestHeaderName: "X User"}, wantErr: "sourceCriterion.requestHeaderName"},
		{desc: "nested ipStrategy error", c: &SourceCriterion{IPStrategy: &Options{Depth: -2}}, wantErr: "sourceCriterion.ipStrategy.depth"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			err := tt.c.Validate()
			if (err == nil) != (tt.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("err %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestExtractor(t *testing.T) {
	long := strings.Repeat("a", 10_000)
	tests := []struct {
		desc   string
		c      *SourceCriterion
		remote string
		host   string
		header map[string][]string
		want   string
	}{
		{desc: "nil: RemoteAddr IP", remote: "192.0.2.1:5555", want: "192.0.2.1"},
		{desc: "empty: RemoteAddr IP", c: &SourceCriterion{}, remote: "192.0.2.1:5555", want: "192.0.2.1"},
		{desc: "IPv6 in canonical form", remote: "[2001:DB8:0::1]:5", want: "2001:db8::1"},
		{desc: "no usable IP: shared key", c: &SourceCriterion{IPStrategy: &Options{Depth: 1}}, remote: "192.0.2.1:5", want: NoIP},
		{desc: "depth strategy", c: &SourceCriterion{IPStrategy: &Options{Depth: 1}}, remote: "192.0.2.1:5", header: map[string][]string{"X-Forwarded-For": {"203.0.113.4"}}, want: "203.0.113.4"},
		{desc: "header", c: &SourceCriterion{RequestHeaderName: "x-api-key"}, remote: "192.0.2.1:5", header: map[string][]string{"X-Api-Key": {"k1", "k2"}}, want: "k1"},
		{desc: "header missing", c: &SourceCriterion{RequestHeaderName: "X-Api-Key"}, remote: "192.0.2.1:5", want: ""},
		{desc: "host lower-cased", c: &SourceCriterion{RequestHost: true}, remote: "192.0.2.1:5", host: "WWW.Example.com:8080", want: "www.example.com:8080"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			x, err := NewExtractor(tt.c)
			if err != nil {
				t.Fatal(err)
			}
			r := req(tt.remote)
			if tt.host != "" {
				r.Host = tt.host
			}
			for k, v := range tt.header {
				r.Header[k] = v
			}
			if got := x(r); got != tt.want {
				t.Fatalf("key %q, want %q", got, tt.want)
			}
		})
	}

	t.Run("long values are bounded and still distinct", func(t *testing.T) {
		x, _ := NewExtractor(&SourceCriterion{RequestHeaderName: "X-Api-Key"})
		r1, r2 := req("192.0.2.1:1"), req("192.0.2.1:1")
		r1.Header.Set("X-Api-Key", long)
		r2.Header.Set("X-Api-Key", long+"b")
		k1, k2 := x(r1), x(r2)
		if len(k1) > MaxKeyLen || len(k2) > MaxKeyLen || k1 == k2 {
			t.Fatalf("keys of %d and %d bytes, equal %v", len(k1), len(k2), k1 == k2)
		}
		if x(r1) != k1 {
			t.Fatal("the key of a long value is not stable")
		}
	})

	if _, err := NewExtractor(&SourceCriterion{RequestHost: true, RequestHeaderName: "X"}); err == nil {
		t.Fatal("NewExtractor accepted two criteria")
	}
}
