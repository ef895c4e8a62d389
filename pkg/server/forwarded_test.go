package server

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/berthproxy/berth/pkg/config"
)

func TestForwardedHeaders(t *testing.T) {
	tests := []struct {
		desc   string
		cfg    *config.ForwardedHeaders
		remote string
		tls    bool
		in     map[string]string
		want   map[string]string // "" means absent
	}{
		{
			desc: "untrusted client's forwarding headers are replaced", remote: "203.0.113.7:1234",
			in:   map[string]string{"X-Forwarded-For": "1.2.3.4", "X-Forwarded-Proto": "https", "X-Real-Ip": "1.2.3.4", "Forwarded": "for=1.2.3.4"},
			want: map[string]string{"X-Forwarded-For": "", "X-Forwarded-Proto": "http", "X-Real-Ip": "203.0.113.7", "Forwarded": "", "X-Forwarded-Host": "app.test", "X-Forwarded-Port": "80", "X-Forwarded-Server": "berth-host"},
		},
		{
			desc: "trusted peer's headers are kept", cfg: &config.ForwardedHeaders{TrustedIPs: []string{"10.0.0.0/8"}}, remote: "10.1.2.3:1234",
			in:   map[string]string{"X-Forwarded-For": "1.2.3.4", "X-Forwarded-Proto": "https", "X-Real-Ip": "1.2.3.4"},
			want: map[string]string{"X-Forwarded-For": "1.2.3.4", "X-Forwarded-Proto": "https", "X-Real-Ip": "1.2.3.4"},
		},
		{
			desc: "insecure trusts everyone", cfg: &config.ForwardedHeaders{Insecure: true}, remote: "203.0.113.7:1234",
			in:   map[string]string{"X-Forwarded-Proto": "https"},
			want: map[string]string{"X-Forwarded-Proto": "https"},
		},
		{
			desc: "a Connection-listed header is dropped, berth's own are set after", remote: "203.0.113.7:1234",
			in:   map[string]string{"Connection": "X-Forwarded-Host, X-Secret", "X-Secret": "s"},
			want: map[string]string{"X-Secret": "", "X-Forwarded-Host": "app.test"},
		},
		{
			desc: "TLS and WebSocket give wss", remote: "[2001:db8::1]:1234", tls: true,
			in:   map[string]string{"Upgrade": "websocket", "Connection": "Upgrade"},
			want: map[string]string{"X-Forwarded-Proto": "wss", "X-Forwarded-Port": "443", "X-Real-Ip": "2001:db8::1", "Upgrade": "websocket"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			f, err := newForwarded(tc.cfg, "berth-host")
			if err != nil {
				t.Fatal(err)
			}
			r := httptest.NewRequest("GET", "http://app.test/", nil)
			r.RemoteAddr = tc.remote
			if tc.tls {
				r.TLS = &tls.ConnectionState{}
			}
			for k, v := range tc.in {
				r.Header.Set(k, v)
			}
			f.apply(r)
			for k, want := range tc.want {
				if got := r.Header.Get(k); got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
		})
	}
}

func TestForwardedRejectsBadTrustedIPs(t *testing.T) {
	if _, err := newForwarded(&config.ForwardedHeaders{TrustedIPs: []string{"10.0.0.0/33"}}, ""); err == nil {
		t.Fatal("a bad CIDR was accepted")
	}
}

func TestRedirect(t *testing.T) {
	eps := map[string]*config.EntryPoint{"websecure": {Address: ":443"}, "alt": {Address: "127.0.0.1:8443"}}
	tests := []struct {
		desc, to, method, target, want string
		permanent                      bool
		code                           int
	}{
		{desc: "to the default HTTPS port drops the port", to: "websecure", method: "GET", target: "http://a.test:8000/x?q=1", permanent: true, code: 301, want: "https://a.test/x?q=1"},
		{desc: "to another port keeps it", to: "alt", method: "GET", target: "http://a.test/x", permanent: true, code: 301, want: "https://a.test:8443/x"},
		{desc: "POST gets 308 so the body is resent", to: "websecure", method: "POST", target: "http://a.test/x", permanent: true, code: 308, want: "https://a.test/x"},
		{desc: "temporary redirect", to: ":443", method: "GET", target: "http://a.test/x", code: 302, want: "https://a.test/x"},
		{desc: "IPv6 host keeps its brackets", to: "alt", method: "GET", target: "http://[::1]:8000/", permanent: true, code: 301, want: "https://[::1]:8443/"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			rd, err := newRedirect(&config.RedirectEntryPoint{To: tc.to, Scheme: "https", Permanent: tc.permanent}, eps)
			if err != nil {
				t.Fatal(err)
			}
			w := httptest.NewRecorder()
			rd.ServeHTTP(w, httptest.NewRequest(tc.method, tc.target, nil))
			if w.Code != tc.code || w.Header().Get("Location") != tc.want {
				t.Fatalf("got %d %q, want %d %q", w.Code, w.Header().Get("Location"), tc.code, tc.want)
			}
		})
	}
	if _, err := newRedirect(&config.RedirectEntryPoint{To: "nowhere"}, eps); err == nil {
		t.Fatal("a redirect to an unknown entrypoint was accepted")
	}
}

func TestPingAnswers503WhileDraining(t *testing.T) {
	s := &Server{}
	h := PingHandler(s, 0)
	for _, tc := range []struct {
		desc     string
		draining bool
		code     int
	}{
		{desc: "serving", code: http.StatusOK},
		{desc: "draining", draining: true, code: http.StatusServiceUnavailable},
	} {
		s.draining.Store(tc.draining)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", "/ping", nil))
		if w.Code != tc.code {
			t.Errorf("%s: got %d, want %d", tc.desc, w.Code, tc.code)
		}
	}
}
