package proxy

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"testing"
	"time"
)

// discardWriter is an in-memory ResponseWriter, so the benchmark measures
// the proxy and the backend, not a front server.
type discardWriter struct {
	h      http.Header
	status int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) WriteHeader(code int)        { w.status = code }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }

// BenchmarkProxy compares the fast path with httputil.ReverseProxy over
// http.Transport against the same loopback backend serving 13 bytes.
func BenchmarkProxy(b *testing.B) {
	// A minimal keep-alive backend, so that its own allocations and CPU
	// do not drown the proxies' in the numbers.
	const resp = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n" +
		"Date: Mon, 01 Jan 2024 00:00:00 GMT\r\n\r\nHello, World!"
	addr := rawBackend(b, func(c net.Conn) {
		_ = c.SetDeadline(time.Time{})
		br := bufio.NewReader(c)
		for {
			// Requests in this benchmark have no body: a head ends the
			// request.
			for {
				line, err := br.ReadSlice('\n')
				if err != nil {
					return
				}
				if len(line) == 2 {
					break
				}
			}
			if _, err := io.WriteString(c, resp); err != nil {
				return
			}
		}
	})
	u := mustURL(b, "http://"+addr)

	p := NewPool(nil)
	defer p.Close()
	rp := httputil.NewSingleHostReverseProxy(u)
	tr := &http.Transport{MaxIdleConnsPerHost: 200}
	defer tr.CloseIdleConnections()
	rp.Transport = tr

	for _, bc := range []struct {
		name string
		h    http.Handler
	}{
		{"berth", p.Handler(Target{URL: u}, TransportOptions{})},
		{"httputil.ReverseProxy", rp},
	} {
		b.Run(bc.name, func(b *testing.B) {
			// A cancellable context, as servers give, so the cost of
			// watching it is counted.
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			req := httptest.NewRequest("GET", "http://front.example/bench?x=1", nil).WithContext(ctx)
			req.Header.Set("User-Agent", "bench")
			req.Header.Set("Accept", "*/*")
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				w := &discardWriter{h: make(http.Header)}
				for pb.Next() {
					clear(w.h)
					bc.h.ServeHTTP(w, req)
					if w.status != 200 {
						b.Errorf("status %d", w.status)
						return
					}
				}
			})
		})
	}
}
