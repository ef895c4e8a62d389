package proxy

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// echoHandler answers with a summary of the request it got and echoes the
// body, so tests can check both directions.
func echoHandler(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), 500)
		return
	}
	sum := sha256.Sum256(body)
	w.Header().Set("X-Method", r.Method)
	w.Header().Set("X-Body-Sha256", hex.EncodeToString(sum[:]))
	w.Header().Set("X-Body-Len", fmt.Sprint(len(body)))
	w.Header().Set("X-Transfer-Encoding", strings.Join(r.TransferEncoding, ","))
	w.Header().Set("X-Content-Length", fmt.Sprint(r.ContentLength))
	if r.URL.Query().Get("chunked") == "1" {
		// No Content-Length: net/http answers chunked.
		for len(body) > 0 {
			n := min(len(body), 10000)
			_, _ = w.Write(body[:n])
			body = body[n:]
			w.(http.Flusher).Flush()
		}
		return
	}
	w.Header().Set("Content-Length", fmt.Sprint(len(body)))
	_, _ = w.Write(body)
}

func randomBytes(t testing.TB, n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func TestForwardBodies(t *testing.T) {
	backend := newCountingBackend(t, http.HandlerFunc(echoHandler))
	p := newTestPool(t)
	front := frontFor(t, p, Target{URL: mustURL(t, backend.URL)}, TransportOptions{})
	big := randomBytes(t, 5<<20)

	tests := []struct {
		desc          string
		method        string
		body          []byte
		chunkedReq    bool // send without Content-Length
		chunkedResp   bool // backend answers without Content-Length
		wantTE        string
		wantClientLen int64
	}{
		{desc: "GET without body", method: "GET", wantClientLen: 0},
		{desc: "POST with Content-Length", method: "POST", body: []byte("hello world"), wantClientLen: 11},
		{desc: "POST chunked", method: "POST", body: []byte("hello chunked world"), chunkedReq: true, wantTE: "chunked", wantClientLen: -1},
		{desc: "POST empty", method: "POST", body: []byte{}, wantClientLen: 0},
		{desc: "PUT large with Content-Length", method: "PUT", body: big, wantClientLen: int64(len(big))},
		{desc: "POST large chunked both ways", method: "POST", body: big, chunkedReq: true, chunkedResp: true, wantTE: "chunked", wantClientLen: -1},
		{desc: "POST large CL request, chunked response", method: "POST", body: big, chunkedResp: true, wantClientLen: int64(len(big))},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			u := front.URL + "/echo"
			if tt.chunkedResp {
				u += "?chunked=1"
			}
			var body io.Reader
			if tt.body != nil {
				body = bytes.NewReader(tt.body)
				if tt.chunkedReq {
					body = io.MultiReader(body) // hides the length
				}
			}
			req, err := http.NewRequest(tt.method, u, body)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := front.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			got, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, got)
			}
			sum := sha256.Sum256(tt.body)
			if h := resp.Header.Get("X-Body-Sha256"); h != hex.EncodeToString(sum[:]) {
				t.Errorf("backend saw body hash %s, want %x", h, sum)
			}
			if !bytes.Equal(got, tt.body) && !(len(got) == 0 && len(tt.body) == 0) {
				t.Errorf("echoed body differs: got %d bytes, want %d", len(got), len(tt.body))
			}
			if m := resp.Header.Get("X-Method"); m != tt.method {
				t.Errorf("method %q, want %q", m, tt.method)
			}
			if te := resp.Header.Get("X-Transfer-Encoding"); te != tt.wantTE {
				t.Errorf("upstream Transfer-Encoding %q, want %q", te, tt.wantTE)
			}
			if cl := resp.Header.Get("X-Content-Length"); cl != fmt.Sprint(tt.wantClientLen) {
				t.Errorf("upstream ContentLength %s, want %d", cl, tt.wantClientLen)
			}
		})
	}
	if n := backend.conns.Load(); n != 1 {
		t.Errorf("sequential requests used %d upstream connections, want 1", n)
	}
}

// recordingBackend remembers the last request it saw.
type recordingBackend struct {
	*httptest.Server
	mu   sync.Mutex
	last *http.Request
}

func newRecordingBackend(t testing.TB) *recordingBackend {
	b := &recordingBackend{}
	b.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.mu.Lock()
		b.last = r
		b.mu.Unlock()
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(b.Close)
	return b
}

func (b *recordingBackend) lastRequest() *http.Request {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.last
}

func TestRequestHeadersAndURI(t *testing.T) {
	backend := newRecordingBackend(t)
	backendHost := strings.TrimPrefix(backend.URL, "http://")
	p := newTestPool(t)

	tests := []struct {
		desc   string
		target Target
		raw    string // request sent to the front, Host is filled in
		check  func(t *testing.T, r *http.Request)
	}{
		{
			desc:   "X-Forwarded-For is appended to",
			target: Target{URL: mustURL(t, backend.URL)},
			raw:    "GET / HTTP/1.1\r\nHost: front.example\r\nX-Forwarded-For: 10.0.0.1, 10.0.0.2\r\n\r\n",
			check: func(t *testing.T, r *http.Request) {
				if got := r.Header.Values("X-Forwarded-For"); len(got) != 1 || got[0] != "10.0.0.1, 10.0.0.2, 127.0.0.1" {
					t.Errorf("X-Forwarded-For = %q", got)
				}
			},
		},
		{
			desc:   "X-Forwarded-For is set",
			target: Target{URL: mustURL(t, backend.URL)},
			raw:    "GET / HTTP/1.1\r\nHost: front.example\r\n\r\n",
			check: func(t *testing.T, r *http.Request) {
				if got := r.Header.Get("X-Forwarded-For"); got != "127.0.0.1" {
					t.Errorf("X-Forwarded-For = %q", got)
				}
			},
		},
		{
			desc:   "hop-by-hop and Connection-listed headers removed, X-Forwarded-* kept",
			target: Target{URL: mustURL(t, backend.URL)},
			raw: "GET / HTTP/1.1\r\nHost: front.example\r\nConnection: X-Forwarded-Host, Foo, X-Real-Ip\r\n" +
				"X-Forwarded-Host: fwd.example\r\nX-Real-Ip: 10.1.1.1\r\nFoo: bar\r\nBaz: kept\r\nKeep-Alive: timeout=5\r\n" +
				"Proxy-Connection: keep-alive\r\nProxy-Authorization: Basic eA==\r\nTe: trailers, deflate\r\n\r\n",
			check: func(t *testing.T, r *http.Request) {
				if got := r.Header.Get("X-Forwarded-Host"); got != "fwd.example" {
					t.Errorf("X-Forwarded-Host = %q, want it kept", got)
				}
				if got := r.Header.Get("X-Real-Ip"); got != "10.1.1.1" {
					t.Errorf("X-Real-Ip = %q, want it kept", got)
				}
				if got := r.Header.Get("Baz"); got != "kept" {
					t.Errorf("Baz = %q", got)
				}
				for _, k := range []string{"Foo", "Keep-Alive", "Proxy-Connection", "Proxy-Authorization", "Connection"} {
					if v, ok := r.Header[k]; ok {
						t.Errorf("%s forwarded: %q", k, v)
					}
				}
				if got := r.Header.Get("Te"); got != "trailers" {
					t.Errorf("Te = %q, want trailers", got)
				}
			},
		},
		{
			desc:   "PassHostHeader true forwards the client's Host",
			target: Target{URL: mustURL(t, backend.URL), PassHostHeader: true},
			raw:    "GET / HTTP/1.1\r\nHost: front.example\r\n\r\n",
			check: func(t *testing.T, r *http.Request) {
				if r.Host != "front.example" {
					t.Errorf("Host = %q", r.Host)
				}
			},
		},
		{
			desc:   "PassHostHeader false uses the server URL's host",
			target: Target{URL: mustURL(t, backend.URL)},
			raw:    "GET / HTTP/1.1\r\nHost: front.example\r\n\r\n",
			check: func(t *testing.T, r *http.Request) {
				if r.Host != backendHost {
					t.Errorf("Host = %q, want %q", r.Host, backendHost)
				}
			},
		},
		{
			desc:   "escaped path and raw query are kept",
			target: Target{URL: mustURL(t, backend.URL)},
			raw:    "GET /a%2Fb/c%20d?x=1&y=%2F HTTP/1.1\r\nHost: front.example\r\n\r\n",
			check: func(t *testing.T, r *http.Request) {
				if r.RequestURI != "/a%2Fb/c%20d?x=1&y=%2F" {
					t.Errorf("RequestURI = %q", r.RequestURI)
				}
			},
		},
		{
			desc:   "PreservePath joins the server path",
			target: Target{URL: mustURL(t, backend.URL+"/base/"), PreservePath: true},
			raw:    "GET /x/y?q=1 HTTP/1.1\r\nHost: front.example\r\n\r\n",
			check: func(t *testing.T, r *http.Request) {
				if r.RequestURI != "/base/x/y?q=1" {
					t.Errorf("RequestURI = %q", r.RequestURI)
				}
			},
		},
		{
			desc:   "server path ignored without PreservePath",
			target: Target{URL: mustURL(t, backend.URL+"/base")},
			raw:    "GET /x HTTP/1.1\r\nHost: front.example\r\n\r\n",
			check: func(t *testing.T, r *http.Request) {
				if r.RequestURI != "/x" {
					t.Errorf("RequestURI = %q", r.RequestURI)
				}
			},
		},
		{
			desc:   "Upgrade: h2c is not forwarded",
			target: Target{URL: mustURL(t, backend.URL)},
			raw: "GET / HTTP/1.1\r\nHost: front.example\r\nConnection: Upgrade, HTTP2-Settings\r\n" +
				"Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n",
			check: func(t *testing.T, r *http.Request) {
				for _, k := range []string{"Upgrade", "Connection", "Http2-Settings"} {
					if v, ok := r.Header[k]; ok {
						t.Errorf("%s forwarded: %q", k, v)
					}
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			front := frontFor(t, p, tt.target, TransportOptions{})
			resp := rawRoundTrip(t, strings.TrimPrefix(front.URL, "http://"), tt.raw)
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != 200 || string(body) != "ok" {
				t.Fatalf("status %d body %q", resp.StatusCode, body)
			}
			tt.check(t, backend.lastRequest())
		})
	}
}

func TestErrors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := ln.Addr().String()
	ln.Close()

	canned := func(resp string) string {
		return rawBackend(t, func(c net.Conn) {
			if _, err := readRequest(bufio.NewReader(c)); err != nil {
				return
			}
			_, _ = io.WriteString(c, resp)
		})
	}
	slow := rawBackend(t, func(c net.Conn) {
		if _, err := readRequest(bufio.NewReader(c)); err != nil {
			return
		}
		time.Sleep(time.Second)
		_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
	})

	tests := []struct {
		desc       string
		addr       string
		opts       TransportOptions
		wantStatus int
	}{
		{desc: "connection refused", addr: refused, wantStatus: 502},
		{desc: "ResponseHeaderTimeout", addr: slow, opts: TransportOptions{ResponseHeaderTimeout: 100 * time.Millisecond}, wantStatus: 504},
		{desc: "Content-Length and Transfer-Encoding", addr: canned("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"), wantStatus: 502},
		{desc: "bare LF in headers", addr: canned("HTTP/1.1 200 OK\r\nContent-Length: 5\n\r\nhello"), wantStatus: 502},
		{desc: "bare LF status line", addr: canned("HTTP/1.1 200 OK\nContent-Length: 5\r\n\r\nhello"), wantStatus: 502},
		{desc: "two Content-Length", addr: canned("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!"), wantStatus: 502},
		{desc: "identical duplicate Content-Length", addr: canned("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello"), wantStatus: 502},
		{desc: "signed Content-Length", addr: canned("HTTP/1.1 200 OK\r\nContent-Length: +5\r\n\r\nhello"), wantStatus: 502},
		{desc: "obs-fold", addr: canned("HTTP/1.1 200 OK\r\nX-A: a\r\n b\r\nContent-Length: 0\r\n\r\n"), wantStatus: 502},
		{desc: "control character in value", addr: canned("HTTP/1.1 200 OK\r\nX-A: a\x01b\r\nContent-Length: 0\r\n\r\n"), wantStatus: 502},
		{desc: "space before colon", addr: canned("HTTP/1.1 200 OK\r\nX-A : a\r\nContent-Length: 0\r\n\r\n"), wantStatus: 502},
		{desc: "bad status line", addr: canned("HTTP/1.1 2000 OK\r\nContent-Length: 0\r\n\r\n"), wantStatus: 502},
		{desc: "HTTP/2 status line", addr: canned("HTTP/2 200 OK\r\nContent-Length: 0\r\n\r\n"), wantStatus: 502},
		{desc: "gzip transfer coding", addr: canned("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n"), wantStatus: 502},
		{desc: "unsolicited 101", addr: canned("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"), wantStatus: 502},
		{desc: "closed without response", addr: canned(""), wantStatus: 502},
	}
	p := newTestPool(t)
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			front := frontFor(t, p, Target{URL: mustURL(t, "http://"+tt.addr)}, tt.opts)
			resp, err := front.Client().Get(front.URL)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status %d, want %d (body %q)", resp.StatusCode, tt.wantStatus, body)
			}
			if want := http.StatusText(tt.wantStatus) + "\n"; string(body) != want {
				t.Errorf("body %q, want %q", body, want)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "text/plain; charset=utf-8" {
				t.Errorf("Content-Type %q", ct)
			}
		})
	}
}

func TestMalformedChunkedBodyAborts(t *testing.T) {
	tests := []struct {
		desc string
		resp string
	}{
		{desc: "bad chunk size", resp: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nzz\r\n"},
		{desc: "chunk without CRLF", resp: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n"},
		{desc: "short Content-Length body", resp: "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nhello"},
	}
	p := newTestPool(t)
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			addr := rawBackend(t, func(c net.Conn) {
				if _, err := readRequest(bufio.NewReader(c)); err != nil {
					return
				}
				_, _ = io.WriteString(c, tt.resp)
			})
			front := frontFor(t, p, Target{URL: mustURL(t, "http://"+addr)}, TransportOptions{})
			resp, err := front.Client().Get(front.URL)
			if err != nil {
				return // aborted before the head: fine too
			}
			defer resp.Body.Close()
			if _, err := io.ReadAll(resp.Body); err == nil {
				t.Fatal("client read a complete body; want a truncated response")
			}
		})
	}
}

func TestKeepAliveReuse(t *testing.T) {
	backend := newCountingBackend(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "hello")
	}))
	p := newTestPool(t)
	front := frontFor(t, p, Target{URL: mustURL(t, backend.URL)}, TransportOptions{})
	for i := 0; i < 50; i++ {
		resp, err := front.Client().Get(front.URL)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(b) != "hello" {
			t.Fatalf("body %q", b)
		}
	}
	if n := backend.conns.Load(); n != 1 {
		t.Fatalf("50 sequential requests used %d upstream connections, want 1", n)
	}
	// A second handler with equal options shares the warm connection.
	front2 := frontFor(t, p, Target{URL: mustURL(t, backend.URL)}, TransportOptions{})
	resp, err := front2.Client().Get(front2.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if n := backend.conns.Load(); n != 1 {
		t.Fatalf("a new handler dialled again: %d connections", n)
	}
}

func TestIdleConnTimeout(t *testing.T) {
	backend := newCountingBackend(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	p := newTestPool(t)
	front := frontFor(t, p, Target{URL: mustURL(t, backend.URL)}, TransportOptions{IdleConnTimeout: 50 * time.Millisecond})
	for i := 0; i < 2; i++ {
		resp, err := front.Client().Get(front.URL)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		time.Sleep(150 * time.Millisecond)
	}
	if n := backend.conns.Load(); n != 2 {
		t.Fatalf("got %d upstream connections, want 2 (the idle one expired)", n)
	}
}

// TestStaleConnectionRetried uses a backend that closes every connection
// right after its first response while still advertising keep-alive: each
// pooled connection is dead when reused, which must never surface as 502.
func TestStaleConnectionRetried(t *testing.T) {
	var conns atomic.Int64
	addr := rawBackend(t, func(c net.Conn) {
		conns.Add(1)
		if _, err := readRequest(bufio.NewReader(c)); err != nil {
			return
		}
		_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
	})
	p := newTestPool(t)
	front := frontFor(t, p, Target{URL: mustURL(t, "http://"+addr)}, TransportOptions{})
	var wg sync.WaitGroup
	var bad atomic.Int64
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 100; i++ {
				method := "GET"
				if i%3 == 0 {
					method = "DELETE"
				}
				req, _ := http.NewRequest(method, front.URL, nil)
				resp, err := front.Client().Do(req)
				if err != nil {
					bad.Add(1)
					continue
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 || string(b) != "ok" {
					bad.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if n := bad.Load(); n != 0 {
		t.Fatalf("%d of 400 requests failed", n)
	}
	if conns.Load() < 300 {
		t.Fatalf("only %d upstream connections: the backend did not close them as planned", conns.Load())
	}
}

// TestPostAfterBackendIdleClose: a backend that closes idle keep-alive
// connections after a short time (as Node does after 5 s) must not turn
// the next POST into a 502. POST cannot be replayed, so the dead pooled
// connection has to be noticed before the request is written.
func TestPostAfterBackendIdleClose(t *testing.T) {
	for _, tc := range []struct {
		desc string
		tls  bool
	}{
		{desc: "http backend"},
		{desc: "https backend (close_notify before FIN)", tls: true},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			var conns atomic.Int64
			backend := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				_, _ = w.Write(b)
			}))
			backend.Config.IdleTimeout = 100 * time.Millisecond
			backend.Config.ConnState = func(_ net.Conn, s http.ConnState) {
				if s == http.StateNew {
					conns.Add(1)
				}
			}
			var opts TransportOptions
			if tc.tls {
				backend.StartTLS()
				roots := x509.NewCertPool()
				roots.AddCert(backend.Certificate())
				opts.TLSConfig = &tls.Config{RootCAs: roots}
			} else {
				backend.Start()
			}
			defer backend.Close()
			p := newTestPool(t)
			front := frontFor(t, p, Target{URL: mustURL(t, backend.URL)}, opts)
			for i := 0; i < 3; i++ {
				body := fmt.Sprintf("payload %d", i)
				resp, err := front.Client().Post(front.URL, "text/plain", strings.NewReader(body))
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 || string(b) != body {
					t.Fatalf("POST %d after the backend closed the idle connection: %d %q", i, resp.StatusCode, b)
				}
				time.Sleep(300 * time.Millisecond) // the backend closes the idle connection meanwhile
			}
			if n := conns.Load(); n != 3 {
				t.Fatalf("got %d upstream connections, want 3 (each idle one closed by the backend)", n)
			}
		})
	}
}

func TestServerSentEventsFlushPromptly(t *testing.T) {
	release := make(chan struct{})
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, "data: one\n\n")
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-time.After(5 * time.Second):
		}
		_, _ = io.WriteString(w, "data: two\n\n")
	}))
	defer backend.Close()
	for _, fi := range []time.Duration{0, time.Hour, -1} {
		t.Run(fmt.Sprint("FlushInterval=", fi), func(t *testing.T) {
			p := newTestPool(t)
			front := frontFor(t, p, Target{URL: mustURL(t, backend.URL), FlushInterval: fi}, TransportOptions{})
			resp, err := front.Client().Get(front.URL)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			br := bufio.NewReader(resp.Body)
			got := make(chan string, 1)
			go func() {
				line, _ := br.ReadString('\n')
				got <- line
			}()
			select {
			case line := <-got:
				if line != "data: one\n" {
					t.Fatalf("first line %q", line)
				}
			case <-time.After(3 * time.Second):
				t.Fatal("first event not flushed before the second was sent")
			}
			release <- struct{}{}
			rest, _ := io.ReadAll(br)
			if string(rest) != "\ndata: two\n\n" {
				t.Fatalf("rest %q", rest)
			}
		})
	}
}

func TestNoBodyResponses(t *testing.T) {
	backend := newCountingBackend(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/204":
			w.WriteHeader(204)
		case "/304":
			w.Header().Set("Etag", `"x"`)
			w.WriteHeader(304)
		default:
			w.Header().Set("Content-Length", "11")
			_, _ = io.WriteString(w, "hello world")
		}
	}))
	p := newTestPool(t)
	front := frontFor(t, p, Target{URL: mustURL(t, backend.URL)}, TransportOptions{})
	tests := []struct {
		desc, method, path string
		wantStatus         int
		wantBody, wantCL   string
	}{
		{desc: "HEAD keeps Content-Length", method: "HEAD", path: "/", wantStatus: 200, wantCL: "11"},
		{desc: "204", method: "GET", path: "/204", wantStatus: 204},
		{desc: "304", method: "GET", path: "/304", wantStatus: 304},
		{desc: "GET after them", method: "GET", path: "/", wantStatus: 200, wantBody: "hello world", wantCL: "11"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, front.URL+tt.path, nil)
			resp, err := front.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.wantStatus || string(b) != tt.wantBody {
				t.Fatalf("got %d %q, want %d %q", resp.StatusCode, b, tt.wantStatus, tt.wantBody)
			}
			if tt.wantCL != "" && resp.Header.Get("Content-Length") != tt.wantCL {
				t.Errorf("Content-Length %q, want %q", resp.Header.Get("Content-Length"), tt.wantCL)
			}
		})
	}
	if n := backend.conns.Load(); n != 1 {
		t.Fatalf("bodiless responses broke keep-alive: %d connections", n)
	}
}

func TestTrailers(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body)
		w.Header().Set("Trailer", "X-Declared")
		w.Header().Set("X-Req-Trailer-Seen", "")
		_, _ = io.WriteString(w, "body")
		w.Header().Set("X-Declared", "d")
		w.Header().Set(http.TrailerPrefix+"X-Undeclared", "u")
		w.Header().Set(http.TrailerPrefix+"X-Echo", r.Trailer.Get("X-Req"))
	}))
	defer backend.Close()
	p := newTestPool(t)
	front := frontFor(t, p, Target{URL: mustURL(t, backend.URL)}, TransportOptions{})

	req, _ := http.NewRequest("POST", front.URL, io.MultiReader(strings.NewReader("request body")))
	req.Trailer = http.Header{"X-Req": {"request-trailer"}}
	resp, err := front.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || string(b) != "body" {
		t.Fatalf("body %q, %v", b, err)
	}
	for k, want := range map[string]string{"X-Declared": "d", "X-Undeclared": "u", "X-Echo": "request-trailer"} {
		if got := resp.Trailer.Get(k); got != want {
			t.Errorf("trailer %s = %q, want %q (all: %v)", k, got, want, resp.Trailer)
		}
	}
}

func TestEarlyHints(t *testing.T) {
	addr := rawBackend(t, func(c net.Conn) {
		if _, err := readRequest(bufio.NewReader(c)); err != nil {
			return
		}
		_, _ = io.WriteString(c, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n"+
			"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
	})
	p := newTestPool(t)
	front := frontFor(t, p, Target{URL: mustURL(t, "http://"+addr)}, TransportOptions{})
	resp := rawRoundTrip(t, strings.TrimPrefix(front.URL, "http://"), "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	// http.ReadResponse returns the 103 first.
	if resp.StatusCode != 103 || resp.Header.Get("Link") == "" {
		t.Fatalf("first response %d %v, want 103 with Link", resp.StatusCode, resp.Header)
	}
}

func TestConnectNotImplemented(t *testing.T) {
	p := newTestPool(t)
	front := frontFor(t, p, Target{URL: mustURL(t, "http://127.0.0.1:1")}, TransportOptions{})
	resp := rawRoundTrip(t, strings.TrimPrefix(front.URL, "http://"), "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n")
	if resp.StatusCode != 501 {
		t.Fatalf("status %d, want 501", resp.StatusCode)
	}
}

func TestClientCancelled(t *testing.T) {
	entered := make(chan struct{})
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-r.Context().Done()
	}))
	defer backend.Close()
	p := newTestPool(t)
	h := p.Handler(Target{URL: mustURL(t, backend.URL)}, TransportOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-entered
		cancel()
	}()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil).WithContext(ctx))
	if rec.Code != StatusClientClosedRequest || rec.Body.Len() != 0 {
		t.Fatalf("got %d %q, want 499 and no body", rec.Code, rec.Body.String())
	}
}

func TestRequestNotMutated(t *testing.T) {
	backend := newRecordingBackend(t)
	p := newTestPool(t)
	h := p.Handler(Target{URL: mustURL(t, backend.URL+"/p"), PreservePath: true}, TransportOptions{})
	req := httptest.NewRequest("GET", "/a?b=c", nil)
	req.Header.Set("Connection", "Foo")
	req.Header.Set("Foo", "bar")
	req.Header.Set("X-Forwarded-For", "1.2.3.4")
	before := req.Header.Clone()
	urlBefore := *req.URL
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 200 {
		t.Fatalf("status %d", rec.Code)
	}
	if !reflect.DeepEqual(before, req.Header) || urlBefore != *req.URL {
		t.Fatalf("request mutated: %v → %v", before, req.Header)
	}
}

func TestErrorStatus(t *testing.T) {
	tests := []struct {
		desc string
		err  error
		want int
	}{
		{desc: "nil", err: nil, want: 200},
		{desc: "canceled", err: context.Canceled, want: 499},
		{desc: "wrapped canceled", err: contextError(canceledCtx(), io.EOF), want: 499},
		{desc: "deadline", err: context.DeadlineExceeded, want: 504},
		{desc: "header timeout", err: errResponseHeaderTimeout, want: 504},
		{desc: "dial timeout", err: &dialError{addr: "x", err: errDialTimeout}, want: 504},
		{desc: "malformed", err: malformed("x"), want: 502},
		{desc: "EOF", err: io.EOF, want: 502},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			if got := ErrorStatus(tt.err); got != tt.want {
				t.Fatalf("ErrorStatus(%v) = %d, want %d", tt.err, got, tt.want)
			}
		})
	}
}

func canceledCtx() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}
