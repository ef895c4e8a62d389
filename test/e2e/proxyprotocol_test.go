//go:build e2e

package e2e

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/pires/go-proxyproto"
)

// TestProxyProtocol: behind a TCP load balancer that speaks the PROXY
// protocol, the client address from the header is the one berth forwards
// (X-Real-Ip, X-Forwarded-For), over plain HTTP and TLS, for v1 and v2;
// a header from a peer outside trustedIPs is ignored, and a trusted peer
// may still connect without one.
func TestProxyProtocol(t *testing.T) {
	rec := aRecordingBackend(t, "app")
	dyn := fmt.Sprintf(`
http:
  routers:
    app:
      rule: "Host(%[1]sapp.test%[1]s)"
      service: app
    app-tls:
      rule: "Host(%[1]sapp.test%[1]s)"
      service: app
      tls: {}
  services:
%[2]s`, "`", aService("app", rec.URL))
	v1 := func(ip string) []byte { return []byte("PROXY TCP4 " + ip + " 127.0.0.1 40000 80\r\n") }
	v2 := func(ip string) []byte {
		h := proxyproto.HeaderProxyFromAddrs(2, &net.TCPAddr{IP: net.ParseIP(ip), Port: 40000}, &net.TCPAddr{IP: net.ParseIP("127.0.0.1"), Port: 80})
		b, err := h.Format()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	trusted := []string{"--entryPoints.web.proxyProtocol.trustedIPs=127.0.0.1/32"}
	for _, tc := range []struct {
		desc   string
		flags  []string
		header []byte
		tls    bool
		want   string // X-Real-Ip seen by the backend
	}{
		{desc: "v1 from a trusted balancer", flags: trusted, header: v1("203.0.113.7"), want: "203.0.113.7"},
		{desc: "v2 from a trusted balancer", flags: trusted, header: v2("198.51.100.9"), want: "198.51.100.9"},
		{desc: "v1 then TLS", flags: trusted, header: v1("203.0.113.8"), tls: true, want: "203.0.113.8"},
		{desc: "trusted peer without a header", flags: trusted, want: "127.0.0.1"},
		{desc: "header from an untrusted peer is ignored", flags: []string{"--entryPoints.web.proxyProtocol.trustedIPs=10.0.0.0/8"},
			header: v1("203.0.113.7"), want: "127.0.0.1"},
		{desc: "insecure trusts anyone", flags: []string{"--entryPoints.web.proxyProtocol.insecure=true"}, header: v2("192.0.2.1"), want: "192.0.2.1"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			in := start(t, []string{"web"}, dyn, tc.flags...)
			c, err := net.DialTimeout("tcp", in.aAddr("web"), 2*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(10 * time.Second))
			if _, err := c.Write(tc.header); err != nil {
				t.Fatal(err)
			}
			var rw io.ReadWriter = c
			if tc.tls {
				tc := tls.Client(c, &tls.Config{ServerName: "app.test", InsecureSkipVerify: true, NextProtos: []string{"http/1.1"}})
				if err := tc.Handshake(); err != nil {
					t.Fatalf("TLS after the PROXY header: %v", err)
				}
				rw = tc
			}
			if _, err := io.WriteString(rw, "GET /who HTTP/1.1\r\nHost: app.test\r\nConnection: close\r\n\r\n"); err != nil {
				t.Fatal(err)
			}
			resp, err := http.ReadResponse(bufio.NewReader(rw), nil)
			if err != nil {
				t.Fatalf("no response: %v", err)
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Fatalf("status %d", resp.StatusCode)
			}
			seen := rec.last(t)
			if got := seen.Header.Get("X-Real-Ip"); got != tc.want {
				t.Errorf("X-Real-Ip %q, want %q", got, tc.want)
			}
			if got := seen.Header.Get("X-Forwarded-For"); got != tc.want {
				t.Errorf("X-Forwarded-For %q, want %q", got, tc.want)
			}
		})
	}
}
