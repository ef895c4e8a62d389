package ipallowlist

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/berthproxy/berth/middlewares/internal/labeltest"
	"github.com/berthproxy/berth/pkg/ipstrategy"
	"github.com/berthproxy/berth/pkg/middleware"
)

func init() {
	// This test binary does not import middlewares/all.go; register the
	// factories so that the label decoding tests find them.
	middleware.Register(Factory{})
	middleware.Register(WhiteListFactory{})
}

var ok = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("backend")) })

func TestAllowList(t *testing.T) {
	tests := []struct {
		desc     string
		spec     Spec
		remote   string
		xff      []string
		wantCode int
	}{
		{desc: "allowed single IP", spec: Spec{SourceRange: []string{"192.0.2.7"}}, remote: "192.0.2.7:5000", wantCode: 200},
		{desc: "allowed by CIDR", spec: Spec{SourceRange: []string{"127.0.0.1/32", "10.0.0.0/8"}}, remote: "10.20.30.40:1", wantCode: 200},
		{desc: "refused", spec: Spec{SourceRange: []string{"10.0.0.0/8"}}, remote: "192.0.2.7:1", wantCode: 403},
		{desc: "custom reject status", spec: Spec{SourceRange: []string{"10.0.0.0/8"}, RejectStatusCode: 404}, remote: "192.0.2.7:1", wantCode: 404},
		{desc: "X-Forwarded-For ignored by default", spec: Spec{SourceRange: []string{"10.0.0.0/8"}}, remote: "192.0.2.7:1", xff: []string{"10.0.0.1"}, wantCode: 403},
		{desc: "IPv6 client", spec: Spec{SourceRange: []string{"2001:db8::/32"}}, remote: "[2001:db8::99]:1", wantCode: 200},
		{desc: "mapped IPv4 client", spec: Spec{SourceRange: []string{"192.0.2.0/24"}}, remote: "[::ffff:192.0.2.9]:1", wantCode: 200},
		{desc: "depth picks the client", spec: Spec{SourceRange: []string{"203.0.113.0/24"}, IPStrategy: &ipstrategy.Options{Depth: 2}}, remote: "10.0.0.1:1", xff: []string{"203.0.113.5, 10.0.0.9"}, wantCode: 200},
		{desc: "depth: spoofed left entry is not used", spec: Spec{SourceRange: []string{"203.0.113.0/24"}, IPStrategy: &ipstrategy.Options{Depth: 1}}, remote: "10.0.0.1:1", xff: []string{"203.0.113.5, 198.51.100.1"}, wantCode: 403},
		{desc: "depth: header too short is refused", spec: Spec{SourceRange: []string{"0.0.0.0/0"}, IPStrategy: &ipstrategy.Options{Depth: 3}}, remote: "10.0.0.1:1", xff: []string{"203.0.113.5, 10.0.0.9"}, wantCode: 403},
		{desc: "depth: missing header is refused even if RemoteAddr is allowed", spec: Spec{SourceRange: []string{"10.0.0.0/8"}, IPStrategy: &ipstrategy.Options{Depth: 1}}, remote: "10.0.0.1:1", wantCode: 403},
		{desc: "excludedIPs skip proxies", spec: Spec{SourceRange: []string{"203.0.113.5"}, IPStrategy: &ipstrategy.Options{ExcludedIPs: []string{"10.0.0.0/8"}}}, remote: "10.0.0.1:1", xff: []string{"198.51.100.1, 203.0.113.5, 10.0.0.9, 10.0.0.8"}, wantCode: 200},
		{desc: "excludedIPs: all excluded is refused", spec: Spec{SourceRange: []string{"10.0.0.0/8"}, IPStrategy: &ipstrategy.Options{ExcludedIPs: []string{"10.0.0.0/8"}}}, remote: "10.0.0.1:1", xff: []string{"10.0.0.9"}, wantCode: 403},
		{desc: "ipv6Subnet: the subnet is matched", spec: Spec{SourceRange: []string{"2001:db8:1:2::"}, IPStrategy: &ipstrategy.Options{IPv6Subnet: 64}}, remote: "[2001:db8:1:2:aaaa::1]:1", wantCode: 200},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			h, err := Factory{}.Build(middleware.BuildContext{}, "x@file", &tt.spec, ok)
			if err != nil {
				t.Fatal(err)
			}
			r := httptest.NewRequest("GET", "http://example.com/", nil)
			r.RemoteAddr = tt.remote
			if tt.xff != nil {
				r.Header["X-Forwarded-For"] = tt.xff
			}
			before := r.Header.Clone()
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			if rec.Code != tt.wantCode {
				t.Fatalf("status %d, want %d", rec.Code, tt.wantCode)
			}
			wantBody := "backend"
			if tt.wantCode != 200 {
				wantBody = http.StatusText(tt.wantCode)
			}
			if rec.Body.String() != wantBody {
				t.Fatalf("body %q, want %q", rec.Body.String(), wantBody)
			}
			if r.RemoteAddr != tt.remote || len(r.Header) != len(before) || strings.Join(r.Header["X-Forwarded-For"], ",") != strings.Join(before["X-Forwarded-For"], ",") {
				t.Fatal("the request was modified")
			}
		})
	}
}

func TestWhiteListSharesTheBehaviour(t *testing.T) {
	h, err := WhiteListFactory{}.Build(middleware.BuildContext{}, "wl@file", &WhiteListSpec{SourceRange: []string{"10.0.0.0/8"}}, ok)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		remote string
		want   int
	}{{"10.1.1.1:1", 200}, {"192.0.2.1:1", 403}} {
		r := httptest.NewRequest("GET", "http://example.com/", nil)
		r.RemoteAddr = tt.remote
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if rec.Code != tt.want {
			t.Fatalf("%s: status %d, want %d", tt.remote, rec.Code, tt.want)
		}
	}
}

func TestNoBodyStatus(t *testing.T) {
	h, err := Factory{}.Build(middleware.BuildContext{}, "x", &Spec{SourceRange: []string{"10.0.0.0/8"}, RejectStatusCode: 204}, ok)
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "http://example.com/", nil))
	if rec.Code != 204 || rec.Body.Len() != 0 {
		t.Fatalf("status %d body %q, want 204 and no body", rec.Code, rec.Body.String())
	}
}

func TestSpecValidate(t *testing.T) {
	tests := []struct {
		desc    string
		spec    middleware.Spec
		wantErr string
	}{
		{desc: "ok", spec: &Spec{SourceRange: []string{"10.0.0.0/8"}, IPStrategy: &ipstrategy.Options{Depth: 1}, RejectStatusCode: 404}},
		{desc: "no sourceRange", spec: &Spec{}, wantErr: "sourceRange: required"},
		{desc: "bad sourceRange entry", spec: &Spec{SourceRange: []string{"10.0.0.0/8", "10.0.0.300"}}, wantErr: `sourceRange[1]: "10.0.0.300"`},
		{desc: "bad status", spec: &Spec{SourceRange: []string{"10.0.0.1"}, RejectStatusCode: 999}, wantErr: "rejectStatusCode: 999"},
		{desc: "informational status", spec: &Spec{SourceRange: []string{"10.0.0.1"}, RejectStatusCode: 101}, wantErr: "rejectStatusCode"},
		{desc: "bad depth", spec: &Spec{SourceRange: []string{"10.0.0.1"}, IPStrategy: &ipstrategy.Options{Depth: -1}}, wantErr: "ipStrategy.depth"},
		{desc: "bad excludedIPs", spec: &Spec{SourceRange: []string{"10.0.0.1"}, IPStrategy: &ipstrategy.Options{ExcludedIPs: []string{"x"}}}, wantErr: "ipStrategy.excludedIPs[0]"},
		{desc: "whitelist ok", spec: &WhiteListSpec{SourceRange: []string{"10.0.0.1"}}},
		{desc: "whitelist empty", spec: &WhiteListSpec{}, wantErr: "sourceRange: required"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			err := tt.spec.Validate()
			if (err == nil) != (tt.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("err %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestBuildRefuses(t *testing.T) {
	tests := []struct {
		desc string
		f    middleware.Factory
		spec middleware.Spec
	}{
		{desc: "allowList: empty", f: Factory{}, spec: &Spec{}},
		{desc: "allowList: foreign spec", f: Factory{}, spec: &WhiteListSpec{SourceRange: []string{"10.0.0.1"}}},
		{desc: "whiteList: empty", f: WhiteListFactory{}, spec: &WhiteListSpec{}},
		{desc: "whiteList: foreign spec", f: WhiteListFactory{}, spec: &Spec{SourceRange: []string{"10.0.0.1"}}},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			if _, err := tt.f.Build(middleware.BuildContext{}, "x", tt.spec, ok); err == nil {
				t.Fatal("Build accepted the options")
			}
		})
	}
}

// decodeLabels decodes Traefik-style labels (without the "traefik."
// prefix) the way the Docker provider does.
func TestDecodeLabels(t *testing.T) {
	tests := []struct {
		desc    string
		labels  map[string]string
		check   func(t *testing.T, spec middleware.Spec)
		wantErr string
	}{
		{
			desc: "Traefik's documented example",
			labels: map[string]string{
				"http.middlewares.m.ipallowlist.sourcerange":      "127.0.0.1/32, 192.168.1.7",
				"http.middlewares.m.ipallowlist.rejectstatuscode": "404",
			},
			check: func(t *testing.T, spec middleware.Spec) {
				s := spec.(*Spec)
				if len(s.SourceRange) != 2 || s.SourceRange[1] != "192.168.1.7" || s.RejectStatusCode != 404 || s.IPStrategy != nil {
					t.Fatalf("decoded %+v", s)
				}
			},
		},
		{
			desc: "ipStrategy options",
			labels: map[string]string{
				"http.middlewares.m.ipAllowList.sourceRange":            "10.0.0.0/8",
				"http.middlewares.m.ipAllowList.ipStrategy.depth":       "2",
				"http.middlewares.m.ipAllowList.ipStrategy.excludedIPs": "127.0.0.1/32, 192.168.1.7",
				"http.middlewares.m.ipAllowList.ipStrategy.ipv6Subnet":  "64",
			},
			check: func(t *testing.T, spec middleware.Spec) {
				o := spec.(*Spec).IPStrategy
				if o == nil || o.Depth != 2 || len(o.ExcludedIPs) != 2 || o.IPv6Subnet != 64 {
					t.Fatalf("decoded %+v", o)
				}
			},
		},
		{
			desc: "ipStrategy=true switches the RemoteAddr strategy on",
			labels: map[string]string{
				"http.middlewares.m.ipallowlist.sourcerange": "10.0.0.0/8",
				"http.middlewares.m.ipallowlist.ipstrategy":  "true",
			},
			check: func(t *testing.T, spec middleware.Spec) {
				if o := spec.(*Spec).IPStrategy; o == nil || o.Depth != 0 || len(o.ExcludedIPs) != 0 {
					t.Fatalf("decoded %+v", o)
				}
			},
		},
		{
			desc: "ipWhiteList",
			labels: map[string]string{
				"http.middlewares.m.ipwhitelist.sourcerange": "10.0.0.0/8",
			},
			check: func(t *testing.T, spec middleware.Spec) {
				if s, ok := spec.(*WhiteListSpec); !ok || len(s.SourceRange) != 1 {
					t.Fatalf("decoded %#v", spec)
				}
			},
		},
		{
			desc: "ipWhiteList has no rejectStatusCode",
			labels: map[string]string{
				"http.middlewares.m.ipwhitelist.sourcerange":      "10.0.0.0/8",
				"http.middlewares.m.ipwhitelist.rejectstatuscode": "404",
			},
			wantErr: "rejectstatuscode",
		},
		{
			desc: "unknown ipStrategy key",
			labels: map[string]string{
				"http.middlewares.m.ipallowlist.sourcerange":     "10.0.0.0/8",
				"http.middlewares.m.ipallowlist.ipstrategy.dept": "1",
			},
			wantErr: "dept",
		},
		{
			desc: "invalid range reported with the option",
			labels: map[string]string{
				"http.middlewares.m.ipallowlist.sourcerange": "10.0.0.0/8, nope",
			},
			wantErr: `sourceRange[1]: "nope"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			cfg, issues := labeltest.Decode(t, tt.labels)
			if tt.wantErr != "" {
				var msgs []string
				for _, is := range issues {
					msgs = append(msgs, is.Msg)
				}
				if !strings.Contains(strings.Join(msgs, "\n"), tt.wantErr) {
					t.Fatalf("issues %q, want one mentioning %q", msgs, tt.wantErr)
				}
				return
			}
			if len(issues) > 0 {
				t.Fatalf("issues: %+v", issues)
			}
			m := cfg.HTTP.Middlewares["m"]
			if m == nil {
				t.Fatalf("middleware not decoded: %+v", cfg.HTTP.Middlewares)
			}
			tt.check(t, m.Spec.(middleware.Spec))
		})
	}
}
