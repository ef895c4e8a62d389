package proxy

import (
	"bufio"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"
)

func newTestPool(t testing.TB) *Pool {
	t.Helper()
	p := NewPool(zap.NewNop())
	t.Cleanup(func() { _ = p.Close() })
	return p
}

func mustURL(t testing.TB, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// frontFor starts a net/http server in front of a handler for target.
func frontFor(t testing.TB, p *Pool, target Target, opts TransportOptions) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(p.Handler(target, opts))
	t.Cleanup(s.Close)
	return s
}

// countingBackend is an httptest server that counts the TCP connections
// it accepted.
type countingBackend struct {
	*httptest.Server
	conns atomic.Int64
}

func newCountingBackend(t testing.TB, h http.Handler) *countingBackend {
	t.Helper()
	b := &countingBackend{}
	b.Server = httptest.NewUnstartedServer(h)
	b.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			b.conns.Add(1)
		}
	}
	b.Start()
	t.Cleanup(b.Close)
	return b
}

// rawBackend accepts connections and hands each to serve, for responses
// net/http would refuse to produce.
func rawBackend(t testing.TB, serve func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(10 * time.Second))
				serve(c)
			}()
		}
	}()
	return ln.Addr().String()
}

// readRequest reads one request and its body from a raw backend connection.
func readRequest(br *bufio.Reader) (*http.Request, error) {
	req, err := http.ReadRequest(br)
	if err != nil {
		return nil, err
	}
	buf := make([]byte, 512)
	for {
		if _, err := req.Body.Read(buf); err != nil {
			break
		}
	}
	return req, nil
}

// rawRoundTrip sends raw bytes to addr and returns the parsed response.
func rawRoundTrip(t testing.TB, addr, raw string) *http.Response {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write([]byte(raw)); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}
