package proxy

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

// h2cFront serves handler with HTTP/1.1 and prior-knowledge cleartext
// HTTP/2, as an h2c entrypoint would.
func h2cFront(t testing.TB, handler http.Handler) *httptest.Server {
	s := httptest.NewUnstartedServer(handler)
	s.Config.Protocols = new(http.Protocols)
	s.Config.Protocols.SetHTTP1(true)
	s.Config.Protocols.SetUnencryptedHTTP2(true)
	s.Start()
	t.Cleanup(s.Close)
	return s
}

func TestGRPCOverH2C(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer()
	hs := health.NewServer()
	hs.SetServingStatus("svc", healthpb.HealthCheckResponse_SERVING)
	healthpb.RegisterHealthServer(gs, hs)
	go func() { _ = gs.Serve(ln) }()
	defer gs.Stop()

	p := newTestPool(t)
	front := h2cFront(t, p.Handler(Target{URL: mustURL(t, "h2c://"+ln.Addr().String())}, TransportOptions{}))
	cc, err := grpc.NewClient(strings.TrimPrefix(front.URL, "http://"), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	client := healthpb.NewHealthClient(cc)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	t.Run("unary", func(t *testing.T) {
		resp, err := client.Check(ctx, &healthpb.HealthCheckRequest{Service: "svc"})
		if err != nil {
			t.Fatal(err)
		}
		if resp.Status != healthpb.HealthCheckResponse_SERVING {
			t.Fatalf("status %v", resp.Status)
		}
	})
	t.Run("unary error status travels in trailers", func(t *testing.T) {
		_, err := client.Check(ctx, &healthpb.HealthCheckRequest{Service: "unknown"})
		if status.Code(err) != codes.NotFound {
			t.Fatalf("error %v, want NotFound", err)
		}
	})
	t.Run("server streaming", func(t *testing.T) {
		stream, err := client.Watch(ctx, &healthpb.HealthCheckRequest{Service: "svc"})
		if err != nil {
			t.Fatal(err)
		}
		first, err := stream.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if first.Status != healthpb.HealthCheckResponse_SERVING {
			t.Fatalf("first %v", first.Status)
		}
		// The second message is only produced after the first arrived
		// through the proxy, which proves the stream is not buffered.
		hs.SetServingStatus("svc", healthpb.HealthCheckResponse_NOT_SERVING)
		second, err := stream.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if second.Status != healthpb.HealthCheckResponse_NOT_SERVING {
			t.Fatalf("second %v", second.Status)
		}
	})
}

func TestH2CResponseHeaderTimeout(t *testing.T) {
	backend := h2cFront(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(2 * time.Second):
		}
	}))
	p := newTestPool(t)
	front := frontFor(t, p, Target{URL: mustURL(t, "h2c://"+strings.TrimPrefix(backend.URL, "http://"))},
		TransportOptions{ResponseHeaderTimeout: 100 * time.Millisecond})
	resp, err := front.Client().Get(front.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusGatewayTimeout {
		t.Fatalf("status %d, want 504", resp.StatusCode)
	}
}

func TestH2CPlainRequest(t *testing.T) {
	backend := h2cFront(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Proto", r.Proto)
		w.Header().Set("X-Xff", r.Header.Get("X-Forwarded-For"))
		w.Header().Set("X-Fwd-Host", r.Header.Get("X-Forwarded-Host"))
		_, _ = io.WriteString(w, r.Host+" "+r.URL.RequestURI())
	}))
	p := newTestPool(t)
	backendHost := strings.TrimPrefix(backend.URL, "http://")
	front := frontFor(t, p, Target{URL: mustURL(t, "h2c://"+backendHost+"/base"), PreservePath: true}, TransportOptions{})
	resp := rawRoundTrip(t, strings.TrimPrefix(front.URL, "http://"),
		"GET /x?y=1 HTTP/1.1\r\nHost: front.example\r\nConnection: X-Forwarded-Host\r\nX-Forwarded-Host: fwd.example\r\nX-Forwarded-For: 10.0.0.1\r\n\r\n")
	b, _ := io.ReadAll(resp.Body)
	if want := backendHost + " /base/x?y=1"; string(b) != want {
		t.Errorf("backend saw %q, want %q", b, want)
	}
	if got := resp.Header.Get("X-Proto"); got != "HTTP/2.0" {
		t.Errorf("upstream protocol %q", got)
	}
	if got := resp.Header.Get("X-Xff"); got != "10.0.0.1, 127.0.0.1" {
		t.Errorf("X-Forwarded-For %q", got)
	}
	if got := resp.Header.Get("X-Fwd-Host"); got != "fwd.example" {
		t.Errorf("X-Forwarded-Host %q, want it kept", got)
	}
}

func TestHTTPSFastPath(t *testing.T) {
	var conns atomic.Int64
	backend := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, r.Proto)
	}))
	backend.EnableHTTP2 = true
	backend.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	backend.StartTLS()
	defer backend.Close()
	roots := x509.NewCertPool()
	roots.AddCert(backend.Certificate())
	p := newTestPool(t)
	front := frontFor(t, p, Target{URL: mustURL(t, backend.URL)}, TransportOptions{TLSConfig: &tls.Config{RootCAs: roots}})
	for i := 0; i < 5; i++ {
		resp, err := front.Client().Get(front.URL)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(b) != "HTTP/1.1" {
			t.Fatalf("got %d %q", resp.StatusCode, b)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Fatalf("%d TLS connections, want 1", n)
	}
	// An unknown CA fails the handshake: 502.
	front2 := frontFor(t, p, Target{URL: mustURL(t, backend.URL)}, TransportOptions{})
	resp, err := front2.Client().Get(front2.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadGateway {
		t.Fatalf("untrusted certificate: status %d, want 502", resp.StatusCode)
	}
}

func TestH2CErrors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	p := newTestPool(t)
	front := frontFor(t, p, Target{URL: mustURL(t, "h2c://"+addr)}, TransportOptions{})
	resp, err := front.Client().Get(front.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadGateway {
		t.Fatalf("status %d, want 502", resp.StatusCode)
	}
}
