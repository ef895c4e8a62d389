//go:build e2e

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"golang.org/x/net/http2"
	//lint:ignore SA1019 the brief asks for an x/net h2c handler as one of the h2c backends
	"golang.org/x/net/http2/h2c"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// TestProtocolsWebSocket echoes messages through berth with a coder/websocket
// server behind it, directly and through a headers middleware, and checks
// the close bHandshake reaches the backend.
func TestProtocolsWebSocket(t *testing.T) {
	type wsSeen struct {
		custom string
		xfp    string
	}
	seenCh := make(chan wsSeen, 4)
	closeCh := make(chan websocket.StatusCode, 4)
	be := bServe(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seenCh <- wsSeen{custom: r.Header.Get("X-Custom-Req"), xfp: r.Header.Get("X-Forwarded-Proto")}
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		c.SetReadLimit(1 << 20)
		ctx := r.Context()
		for {
			typ, msg, err := c.Read(ctx)
			if err != nil {
				closeCh <- websocket.CloseStatus(err)
				return
			}
			if err := c.Write(ctx, typ, append([]byte("echo:"), msg...)); err != nil {
				return
			}
		}
	}))
	dyn := fmt.Sprintf(`
http:
  routers:
    plain:
      rule: "Host(%[1]sws.example.com%[1]s)"
      service: ws
    withheaders:
      rule: "Host(%[1]swsh.example.com%[1]s)"
      service: ws
      middlewares: [hdr]
    secure:
      rule: "Host(%[1]sws.example.com%[1]s)"
      service: ws
      tls: {}
  middlewares:
    hdr:
      headers:
        customRequestHeaders:
          X-Custom-Req: "from-berth"
        customResponseHeaders:
          X-Custom-Resp: "to-client"
  services:
    ws:
      loadBalancer:
        servers:
%[2]s`, "`", yamlServers(be))
	in := start(t, []string{"web"}, dyn)
	client := bClient(t, nil)

	tests := []struct {
		desc       string
		scheme     string
		host       string
		wantCustom string // X-Custom-Req seen by the backend
		wantResp   string // X-Custom-Resp on the 101 answer
		wantXFP    string // X-Forwarded-Proto seen by the backend
	}{
		{desc: "direct", scheme: "ws", host: "ws.example.com", wantXFP: "ws"},
		{desc: "over TLS", scheme: "wss", host: "ws.example.com", wantXFP: "wss"},
		{desc: "through headers middleware", scheme: "ws", host: "wsh.example.com", wantCustom: "from-berth", wantResp: "to-client", wantXFP: "ws"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			url := in.bURL(tc.scheme, tc.host, "web", "/echo")
			c, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPClient: client})
			if err != nil {
				t.Fatalf("dial %s: %v", url, err)
			}
			defer c.CloseNow()
			c.SetReadLimit(1 << 20)
			if resp.StatusCode != http.StatusSwitchingProtocols {
				t.Errorf("status = %d, want 101", resp.StatusCode)
			}
			if got := resp.Header.Get("X-Custom-Resp"); got != tc.wantResp {
				t.Errorf("X-Custom-Resp on the upgrade answer = %q, want %q", got, tc.wantResp)
			}
			select {
			case s := <-seenCh:
				if s.custom != tc.wantCustom {
					t.Errorf("backend saw X-Custom-Req %q, want %q", s.custom, tc.wantCustom)
				}
				if s.xfp != tc.wantXFP {
					t.Errorf("backend saw X-Forwarded-Proto %q, want %q", s.xfp, tc.wantXFP)
				}
			case <-ctx.Done():
				t.Fatal("backend never saw the upgrade request")
			}
			msgs := []struct {
				typ  websocket.MessageType
				data []byte
			}{
				{websocket.MessageText, []byte("hello")},
				{websocket.MessageBinary, []byte{0, 1, 2, 0xff}},
				{websocket.MessageText, bytes.Repeat([]byte("x"), 70000)}, // > 64 KiB frame
				{websocket.MessageText, []byte("last")},
			}
			for i, m := range msgs {
				if err := c.Write(ctx, m.typ, m.data); err != nil {
					t.Fatalf("write %d: %v", i, err)
				}
				typ, got, err := c.Read(ctx)
				if err != nil {
					t.Fatalf("read %d: %v", i, err)
				}
				want := append([]byte("echo:"), m.data...)
				if typ != m.typ || !bytes.Equal(got, want) {
					t.Fatalf("message %d: got type %v, %d bytes; want type %v, %d bytes", i, typ, len(got), m.typ, len(want))
				}
			}
			if err := c.Close(websocket.StatusNormalClosure, "bye"); err != nil {
				t.Errorf("close bHandshake: %v", err)
			}
			select {
			case code := <-closeCh:
				if code != websocket.StatusNormalClosure {
					t.Errorf("backend saw close status %v, want %v", code, websocket.StatusNormalClosure)
				}
			case <-ctx.Done():
				t.Fatal("backend never saw the close")
			}
		})
	}
}

// TestProtocolsSSE checks that a server-sent event is flushed to the client
// at once, not held until more data or the end of the bResp.
func TestProtocolsSSE(t *testing.T) {
	be := bServe(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("Cache-Control", "no-cache")
		w.WriteHeader(http.StatusOK)
		fmt.Fprint(w, "event: tick\ndata: one\n\n")
		http.NewResponseController(w).Flush()
		select {
		case <-time.After(500 * time.Millisecond):
		case <-r.Context().Done():
			return
		}
		fmt.Fprint(w, "event: tick\ndata: two\n\n")
	}))
	dyn := fmt.Sprintf(`
http:
  routers:
    sse:
      rule: "Host(%[1]ssse.example.com%[1]s)"
      service: sse
    ssetls:
      rule: "Host(%[1]ssse.example.com%[1]s)"
      service: sse
      tls: {}
    ssehdr:
      rule: "Host(%[1]ssseh.example.com%[1]s)"
      service: sse
      middlewares: [hdr]
  middlewares:
    hdr:
      headers:
        customResponseHeaders:
          X-Custom-Resp: "sse"
  services:
    sse:
      loadBalancer:
        servers:
%[2]s`, "`", yamlServers(be))
	in := start(t, []string{"web"}, dyn)
	client := bClient(t, nil)

	for _, tc := range []struct {
		desc   string
		scheme string
		host   string
	}{
		{desc: "HTTP/1.1", scheme: "http", host: "sse.example.com"},
		{desc: "HTTP/2 over TLS", scheme: "https", host: "sse.example.com"},
		{desc: "HTTP/1.1 through headers middleware", scheme: "http", host: "sseh.example.com"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, "GET", in.bURL(tc.scheme, tc.host, "web", "/events"), nil)
			req.Header.Set("Accept", "text/event-stream")
			begin := time.Now()
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Fatalf("status %d", resp.StatusCode)
			}
			br := bufio.NewReader(resp.Body)
			var firstAt, secondAt time.Duration
			var data []string
			for len(data) < 2 {
				line, err := br.ReadString('\n')
				if err != nil {
					t.Fatalf("after %d events: %v", len(data), err)
				}
				if d, ok := strings.CutPrefix(strings.TrimRight(line, "\n"), "data: "); ok {
					data = append(data, d)
					if len(data) == 1 {
						firstAt = time.Since(begin)
					} else {
						secondAt = time.Since(begin)
					}
				}
			}
			if data[0] != "one" || data[1] != "two" {
				t.Errorf("events = %q, want [one two]", data)
			}
			if firstAt >= 300*time.Millisecond {
				t.Errorf("first event arrived after %v, want < 300ms (the backend flushed it at once)", firstAt)
			}
			if secondAt-firstAt < 300*time.Millisecond {
				t.Errorf("second event arrived %v after the first, want about 500ms", secondAt-firstAt)
			}
		})
	}
}

// bBigPayload is 20 MB of deterministic pseudo-random data and its SHA-256.
var bBigPayload = sync.OnceValues(func() ([]byte, string) {
	b := make([]byte, 20<<20)
	r := rand.NewChaCha8([32]byte{'b', 'e', 'r', 't', 'h'})
	_, _ = r.Read(b)
	sum := sha256.Sum256(b)
	return b, hex.EncodeToString(sum[:])
})

// bOnlyReader hides every method but Read, so that net/http cannot know the
// length of a body and sends it chunked.
type bOnlyReader struct{ io.Reader }

// TestProtocolsLargeBodies streams 20 MB down and up through berth, with and
// without Content-Length, over HTTP/1.1 and HTTP/2, and compares SHA-256.
func TestProtocolsLargeBodies(t *testing.T) {
	payload, sum := bBigPayload()
	be := bServe(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/download":
			if r.URL.Query().Get("cl") == "1" {
				w.Header().Set("Content-Length", strconv.Itoa(len(payload)))
			}
			w.Header().Set("Content-Type", "application/octet-stream")
			for off := 0; off < len(payload); off += 64 << 10 {
				if _, err := w.Write(payload[off:min(off+64<<10, len(payload))]); err != nil {
					return
				}
			}
		case "/upload":
			h := sha256.New()
			n, err := io.Copy(h, r.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			fmt.Fprintf(w, "%d %s %v", n, hex.EncodeToString(h.Sum(nil)), r.TransferEncoding)
		default:
			http.NotFound(w, r)
		}
	}))
	dyn := fmt.Sprintf(`
http:
  routers:
    big:
      rule: "Host(%[1]sbig.example.com%[1]s)"
      service: big
    bigtls:
      rule: "Host(%[1]sbig.example.com%[1]s)"
      service: big
      tls: {}
  services:
    big:
      loadBalancer:
        servers:
%[2]s`, "`", yamlServers(be))
	in := start(t, []string{"web"}, dyn)
	client := bClient(t, nil)

	t.Run("download", func(t *testing.T) {
		for _, tc := range []struct {
			desc, scheme, query string
			wantProto           int
		}{
			{desc: "HTTP/1.1 chunked", scheme: "http", wantProto: 1},
			{desc: "HTTP/1.1 Content-Length", scheme: "http", query: "?cl=1", wantProto: 1},
			{desc: "HTTP/2 chunked", scheme: "https", wantProto: 2},
			{desc: "HTTP/2 Content-Length", scheme: "https", query: "?cl=1", wantProto: 2},
		} {
			t.Run(tc.desc, func(t *testing.T) {
				resp, err := client.Get(in.bURL(tc.scheme, "big.example.com", "web", "/download"+tc.query))
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				h := sha256.New()
				n, err := io.Copy(h, resp.Body)
				if err != nil {
					t.Fatalf("after %d bytes: %v", n, err)
				}
				if resp.StatusCode != 200 || resp.ProtoMajor != tc.wantProto {
					t.Errorf("status %d proto %d, want 200 and HTTP/%d", resp.StatusCode, resp.ProtoMajor, tc.wantProto)
				}
				if n != int64(len(payload)) || hex.EncodeToString(h.Sum(nil)) != sum {
					t.Errorf("got %d bytes with SHA-256 %x, want %d bytes with %s", n, h.Sum(nil), len(payload), sum)
				}
				if tc.query != "" && resp.ContentLength != int64(len(payload)) {
					t.Errorf("Content-Length = %d, want %d", resp.ContentLength, len(payload))
				}
			})
		}
	})

	t.Run("upload", func(t *testing.T) {
		for _, tc := range []struct {
			desc, scheme string
			chunked      bool
		}{
			{desc: "HTTP/1.1 chunked", scheme: "http", chunked: true},
			{desc: "HTTP/1.1 Content-Length", scheme: "http"},
			{desc: "HTTP/2 unknown length", scheme: "https", chunked: true},
			{desc: "HTTP/2 Content-Length", scheme: "https"},
		} {
			t.Run(tc.desc, func(t *testing.T) {
				var body io.Reader = bytes.NewReader(payload)
				if tc.chunked {
					body = bOnlyReader{body}
				}
				req, _ := http.NewRequest("POST", in.bURL(tc.scheme, "big.example.com", "web", "/upload"), body)
				if tc.chunked {
					req.ContentLength = -1
				}
				resp, err := client.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				// A body of unknown length is streamed upstream chunked, a
				// known one with its Content-Length.
				te := "[]"
				if tc.chunked {
					te = "[chunked]"
				}
				want := fmt.Sprintf("%d %s %s", len(payload), sum, te)
				if resp.StatusCode != 200 || string(b) != want {
					t.Errorf("got %d %q, want 200 %q", resp.StatusCode, b, want)
				}
			})
		}
	})
}

// TestProtocolsHTTP2 checks that a client negotiating h2 by ALPN talks
// HTTP/2 to berth with the test certificate, while an HTTP/1.1-only client
// still gets HTTP/1.1 on the same port.
func TestProtocolsHTTP2(t *testing.T) {
	ca := bNewCA(t)
	leaf := ca.issue(t, "*.example.com", "*.example.com")
	certFile, keyFile := leaf.write(t, t.TempDir(), "wild")
	be := bEcho(t)
	dyn := fmt.Sprintf(`
http:
  routers:
    h2:
      rule: "Host(%[1]sh2.example.com%[1]s)"
      service: echo
      tls: {}
  services:
    echo:
      loadBalancer:
        servers:
%[2]s
tls:
  certificates:
    - certFile: %[3]q
      keyFile: %[4]q
`, "`", yamlServers(be), certFile, keyFile)
	in := start(t, []string{"websecure"}, dyn)

	h1only := bClient(t, ca.pool)
	h1only.Transport.(*http.Transport).ForceAttemptHTTP2 = false
	h1only.Transport.(*http.Transport).TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}

	for _, tc := range []struct {
		desc   string
		client *http.Client
		want   int
	}{
		{desc: "h2 by ALPN", client: bClient(t, ca.pool), want: 2},
		{desc: "HTTP/1.1 only client", client: h1only, want: 1},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			r := bDo(t, tc.client, "GET", in.bURL("https", "h2.example.com", "websecure", "/hello?x=1"), nil, nil)
			if r.status != 200 || r.proto != tc.want {
				t.Fatalf("status %d proto HTTP/%d, want 200 HTTP/%d; body %q", r.status, r.proto, tc.want, r.body)
			}
			if r.tls == nil || r.tls.PeerCertificates[0].Subject.CommonName != "*.example.com" {
				t.Errorf("TLS state %v: want the *.example.com test certificate", r.tls)
			}
			s := r.seen(t)
			if s.Path != "/hello" || s.RawQuery != "x=1" || s.Header.Get("X-Forwarded-Proto") != "https" {
				t.Errorf("backend saw path %q query %q X-Forwarded-Proto %q", s.Path, s.RawQuery, s.Header.Get("X-Forwarded-Proto"))
			}
		})
	}
}

// bTrailerKey is a custom trailer the gRPC test server adds to every call,
// to show that trailers cross berth.
const bTrailerKey = "x-berth-trailer"

// TestProtocolsGRPC calls grpc-go's health service through berth: a TLS h2
// client in front, an h2c:// backend (grpc.NewServer on plain TCP) behind.
func TestProtocolsGRPC(t *testing.T) {
	ca := bNewCA(t)
	leaf := ca.issue(t, "grpc.example.com", "grpc.example.com", "grpch.example.com")

	hs := health.NewServer()
	hs.SetServingStatus("berth.test", healthpb.HealthCheckResponse_SERVING)
	gs := grpc.NewServer(
		grpc.ChainUnaryInterceptor(func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			_ = grpc.SetTrailer(ctx, metadata.Pairs(bTrailerKey, "unary"))
			return h(ctx, req)
		}),
	)
	healthpb.RegisterHealthServer(gs, hs)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = gs.Serve(ln) }()
	t.Cleanup(gs.Stop)

	dyn := fmt.Sprintf(`
http:
  routers:
    grpc:
      rule: "Host(%[1]sgrpc.example.com%[1]s)"
      service: grpc
      tls: {}
    grpch:
      rule: "Host(%[1]sgrpch.example.com%[1]s)"
      service: grpc
      middlewares: [hdr]
      tls: {}
  middlewares:
    hdr:
      headers:
        customResponseHeaders:
          X-Custom-Resp: "grpc"
  services:
    grpc:
      loadBalancer:
        servers:
          - url: "h2c://%[2]s"
tls:
  certificates:
    - certFile: %[3]s
      keyFile: %[4]s
`, "`", ln.Addr().String(), bYAMLBlock(leaf.cert, 8), bYAMLBlock(leaf.key, 8))
	in := start(t, []string{"websecure"}, dyn)

	dial := func(authority string) healthpb.HealthClient {
		creds := credentials.NewTLS(&tls.Config{RootCAs: ca.pool, ServerName: authority})
		conn, err := grpc.NewClient(fmt.Sprintf("passthrough:///127.0.0.1:%d", in.ports["websecure"]),
			grpc.WithTransportCredentials(creds), grpc.WithAuthority(authority))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = conn.Close() })
		return healthpb.NewHealthClient(conn)
	}
	client := dial("grpc.example.com")

	t.Run("unary Check", func(t *testing.T) {
		for _, tc := range []struct {
			desc        string
			authority   string
			service     string
			wantCode    codes.Code
			wantStatus  healthpb.HealthCheckResponse_ServingStatus
			wantTrailer string
			wantHeader  string // x-custom-resp response metadata
		}{
			{desc: "known service", authority: "grpc.example.com", service: "berth.test", wantCode: codes.OK, wantStatus: healthpb.HealthCheckResponse_SERVING, wantTrailer: "unary"},
			{desc: "server as a whole", authority: "grpc.example.com", service: "", wantCode: codes.OK, wantStatus: healthpb.HealthCheckResponse_SERVING, wantTrailer: "unary"},
			{desc: "unknown service (status in trailers)", authority: "grpc.example.com", service: "nope", wantCode: codes.NotFound, wantTrailer: "unary"},
			{desc: "through headers middleware", authority: "grpch.example.com", service: "berth.test", wantCode: codes.OK, wantStatus: healthpb.HealthCheckResponse_SERVING, wantTrailer: "unary", wantHeader: "grpc"},
			{desc: "through headers middleware, error status", authority: "grpch.example.com", service: "nope", wantCode: codes.NotFound, wantTrailer: "unary", wantHeader: "grpc"},
		} {
			t.Run(tc.desc, func(t *testing.T) {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				var header, trailer metadata.MD
				resp, err := dial(tc.authority).Check(ctx, &healthpb.HealthCheckRequest{Service: tc.service}, grpc.Header(&header), grpc.Trailer(&trailer))
				if got := status.Code(err); got != tc.wantCode {
					t.Fatalf("code = %v (%v), want %v", got, err, tc.wantCode)
				}
				if err == nil && resp.GetStatus() != tc.wantStatus {
					t.Errorf("status = %v, want %v", resp.GetStatus(), tc.wantStatus)
				}
				if got := trailer.Get(bTrailerKey); len(got) != 1 || got[0] != tc.wantTrailer {
					t.Errorf("trailer %s = %q, want [%q]; trailers: %v", bTrailerKey, got, tc.wantTrailer, trailer)
				}
				// An error without messages is a Trailers-Only response: a
				// single HEADERS frame, which grpc-go reports as trailers.
				md := header
				if tc.wantCode != codes.OK {
					md = trailer
				}
				if got := strings.Join(md.Get("x-custom-resp"), ","); got != tc.wantHeader {
					t.Errorf("header x-custom-resp = %q, want %q; header %v trailer %v", got, tc.wantHeader, header, trailer)
				}
			})
		}
	})

	t.Run("server-streaming Watch", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		stream, err := client.Watch(ctx, &healthpb.HealthCheckRequest{Service: "berth.test"})
		if err != nil {
			t.Fatal(err)
		}
		recv := func(want healthpb.HealthCheckResponse_ServingStatus) {
			t.Helper()
			msg, err := stream.Recv()
			if err != nil {
				t.Fatalf("waiting for %v: %v", want, err)
			}
			if msg.GetStatus() != want {
				t.Fatalf("got %v, want %v", msg.GetStatus(), want)
			}
		}
		recv(healthpb.HealthCheckResponse_SERVING) // the current status
		hs.SetServingStatus("berth.test", healthpb.HealthCheckResponse_NOT_SERVING)
		recv(healthpb.HealthCheckResponse_NOT_SERVING)
		hs.SetServingStatus("berth.test", healthpb.HealthCheckResponse_SERVING)
		recv(healthpb.HealthCheckResponse_SERVING)
		// The backend ends the stream on shutdown; the client sees the
		// status it sends in the trailers, not a broken stream.
		hs.Shutdown()
		recv(healthpb.HealthCheckResponse_NOT_SERVING)
		cancel()
		_, err = stream.Recv()
		if err == nil {
			t.Fatal("stream went on after cancel")
		}
	})
}

// TestProtocolsH2CPlain sends plain HTTP requests (HTTP/1.1 and HTTP/2
// clients) to h2c:// servers, which must receive HTTP/2: one behind
// golang.org/x/net/http2/h2c's handler, one net/http server with
// unencrypted HTTP/2 enabled (what replaces the deprecated h2c package).
func TestProtocolsH2CPlain(t *testing.T) {
	answer := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "%s %s %s %q", r.Proto, r.Method, r.URL.Path, body)
	})
	serve := func(srv *http.Server) string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		go func() { _ = srv.Serve(ln) }()
		t.Cleanup(func() { _ = srv.Close() })
		return "h2c://" + ln.Addr().String()
	}
	//lint:ignore SA1019 the h2c handler is what many gRPC-gateway style backends still run
	xnet := serve(&http.Server{Handler: h2c.NewHandler(answer, &http2.Server{}), ReadHeaderTimeout: 10 * time.Second})
	std := &http.Server{Handler: answer, ReadHeaderTimeout: 10 * time.Second, Protocols: new(http.Protocols)}
	std.Protocols.SetHTTP1(true)
	std.Protocols.SetUnencryptedHTTP2(true)
	stdURL := serve(std)

	dyn := fmt.Sprintf(`
http:
  routers:
    xnet:
      rule: "Host(%[1]sxnet.example.com%[1]s)"
      service: xnet
    xnettls:
      rule: "Host(%[1]sxnet.example.com%[1]s)"
      service: xnet
      tls: {}
    std:
      rule: "Host(%[1]sstd.example.com%[1]s)"
      service: std
    stdtls:
      rule: "Host(%[1]sstd.example.com%[1]s)"
      service: std
      tls: {}
  services:
    xnet:
      loadBalancer:
        servers:
          - url: %[2]q
    std:
      loadBalancer:
        servers:
          - url: %[3]q
`, "`", xnet, stdURL)
	in := start(t, []string{"web"}, dyn)
	client := bClient(t, nil)
	for _, host := range []string{"xnet.example.com", "std.example.com"} {
		for _, tc := range []struct {
			desc, scheme, method string
			wantProto            int
		}{
			{desc: "HTTP/1.1 GET", scheme: "http", method: "GET", wantProto: 1},
			{desc: "HTTP/1.1 POST", scheme: "http", method: "POST", wantProto: 1},
			{desc: "HTTP/2 GET", scheme: "https", method: "GET", wantProto: 2},
			{desc: "HTTP/2 POST", scheme: "https", method: "POST", wantProto: 2},
		} {
			t.Run(host+" "+tc.desc, func(t *testing.T) {
				var body io.Reader
				sent := ""
				if tc.method == "POST" {
					sent = "payload"
					body = strings.NewReader(sent)
				}
				r := bDo(t, client, tc.method, in.bURL(tc.scheme, host, "web", "/x"), nil, body)
				want := fmt.Sprintf("HTTP/2.0 %s /x %q", tc.method, sent)
				if r.status != 200 || r.body != want || r.proto != tc.wantProto {
					t.Errorf("got %d HTTP/%d %q, want 200 HTTP/%d %q", r.status, r.proto, r.body, tc.wantProto, want)
				}
			})
		}
	}
}
