package h1

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

func TestKeepAlive(t *testing.T) {
	var remote, local string
	addr := startServer(t, &Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		remote = r.RemoteAddr
		local = r.Context().Value(http.LocalAddrContextKey).(net.Addr).String()
		io.WriteString(w, r.URL.Path)
	})})
	c := dial(t, addr)
	br := bufio.NewReader(c)
	for i := 0; i < 5; i++ {
		fmt.Fprintf(c, "GET /r%d HTTP/1.1\r\nHost: a\r\n\r\n", i)
		resp, body := readResp(t, br, "GET")
		if body != "/r"+strconv.Itoa(i) || resp.ContentLength != int64(len(body)) || resp.Close {
			t.Fatalf("request %d: body %q, CL %d, close %v", i, body, resp.ContentLength, resp.Close)
		}
		if resp.Header.Get("Date") == "" {
			t.Fatal("no Date header")
		}
		if _, ok := resp.Header["Content-Type"]; ok {
			t.Fatal("Content-Type was invented")
		}
	}
	if remote != c.LocalAddr().String() || local != c.RemoteAddr().String() {
		t.Fatalf("RemoteAddr %q, local %q", remote, local)
	}
}

func TestPipelining(t *testing.T) {
	addr := startServer(t, &Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "%s %s %s", r.Method, r.URL.Path, b)
	})})
	c := dial(t, addr)
	io.WriteString(c, "GET /1 HTTP/1.1\r\nHost: a\r\n\r\n"+
		"POST /2 HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc"+
		"POST /3 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nxy\r\n0\r\n\r\n"+
		"\r\nGET /4 HTTP/1.1\r\nHost: a\r\n\r\n")
	br := bufio.NewReader(c)
	for _, want := range []string{"GET /1 ", "POST /2 abc", "POST /3 xy", "GET /4 "} {
		_, body := readResp(t, br, "GET")
		if body != want {
			t.Fatalf("got %q, want %q", body, want)
		}
	}
}

func TestRequestConstruction(t *testing.T) {
	type seen struct {
		method, uri, host, path, query, proto, urlHost string
		header                                         http.Header
		close                                          bool
		cl                                             int64
		te                                             []string
	}
	got := make(chan seen, 2)
	addr := startServer(t, &Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- seen{r.Method, r.RequestURI, r.Host, r.URL.Path, r.URL.RawQuery, r.Proto, r.URL.Host,
			r.Header.Clone(), r.Close, r.ContentLength, r.TransferEncoding}
		io.Copy(io.Discard, r.Body)
	})})
	tests := []struct {
		desc string
		req  string
		want seen
	}{
		{desc: "origin-form", req: "GET /a/b?x=1&y=%20 HTTP/1.1\r\nHost: example.com:8080\r\nuser-agent:  t \r\nX-Multi: 1\r\nx-multi: 2\r\n\r\n",
			want: seen{method: "GET", uri: "/a/b?x=1&y=%20", host: "example.com:8080", path: "/a/b", query: "x=1&y=%20", proto: "HTTP/1.1",
				header: http.Header{"User-Agent": {"t"}, "X-Multi": {"1", "2"}}}},
		{desc: "escaped path", req: "GET /a%2Fb%20c HTTP/1.1\r\nHost: h\r\n\r\n",
			want: seen{method: "GET", uri: "/a%2Fb%20c", host: "h", path: "/a/b c", proto: "HTTP/1.1", header: http.Header{}}},
		{desc: "absolute-form overrides Host", req: "GET http://other.example/p?q HTTP/1.1\r\nHost: h\r\n\r\n",
			want: seen{method: "GET", uri: "http://other.example/p?q", host: "other.example", path: "/p", query: "q", proto: "HTTP/1.1",
				urlHost: "other.example", header: http.Header{}}},
		{desc: "OPTIONS *", req: "OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n",
			want: seen{method: "OPTIONS", uri: "*", host: "h", path: "*", proto: "HTTP/1.1", header: http.Header{}}},
		{desc: "HTTP/1.0 without Host", req: "GET / HTTP/1.0\r\n\r\n",
			want: seen{method: "GET", uri: "/", path: "/", proto: "HTTP/1.0", close: true, header: http.Header{}}},
		{desc: "Connection close", req: "POST / HTTP/1.1\r\nHost: h\r\nConnection: Close\r\nContent-Length: 2\r\n\r\nab",
			want: seen{method: "POST", uri: "/", host: "h", path: "/", proto: "HTTP/1.1", close: true, cl: 2,
				header: http.Header{"Connection": {"Close"}, "Content-Length": {"2"}}}},
		{desc: "chunked", req: "PUT / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: Chunked\r\n\r\n0\r\n\r\n",
			want: seen{method: "PUT", uri: "/", host: "h", path: "/", proto: "HTTP/1.1", cl: -1, te: []string{"chunked"}, header: http.Header{}}},
		{desc: "IPv6 host", req: "GET / HTTP/1.1\r\nHost: [::1]:80\r\n\r\n",
			want: seen{method: "GET", uri: "/", host: "[::1]:80", path: "/", proto: "HTTP/1.1", header: http.Header{}}},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			resp := exchange(t, addr, tt.req+"GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
			if !strings.HasPrefix(resp, "HTTP/1.1 200") {
				t.Fatalf("response %q", resp)
			}
			s := <-got
			if tt.want.close {
				// The connection closes after this request.
			} else {
				<-got
			}
			if fmt.Sprint(s) != fmt.Sprint(tt.want) {
				t.Fatalf("got  %+v\nwant %+v", s, tt.want)
			}
		})
	}
}

func TestChunkedRequestEcho(t *testing.T) {
	addr := startServer(t, &Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			t.Error(err)
		}
		fmt.Fprintf(w, "%s|%s|%d", b, r.Trailer.Get("X-Sum"), len(r.Trailer))
	})})
	c := dial(t, addr)
	io.WriteString(c, "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n"+
		"5;name=value;q=\"quoted \\\" ext\"\r\nhello\r\n1 ; x\r\n \r\nA\r\n0123456789\r\n0\r\nX-Sum: 42\r\nX-Undeclared: 1\r\n\r\n")
	_, body := readResp(t, bufio.NewReader(c), "POST")
	if body != "hello 0123456789|42|1" {
		t.Fatalf("body %q", body)
	}
}

func TestExpectContinue(t *testing.T) {
	addr := startServer(t, &Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/reject" {
			w.WriteHeader(http.StatusForbidden)
			return
		}
		b, _ := io.ReadAll(r.Body)
		w.Write(b)
	})})
	c := dial(t, addr)
	br := bufio.NewReader(c)
	io.WriteString(c, "POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n")
	line, err := br.ReadString('\n')
	if err != nil || line != "HTTP/1.1 100 Continue\r\n" {
		t.Fatalf("got %q, %v", line, err)
	}
	if l, _ := br.ReadString('\n'); l != "\r\n" {
		t.Fatalf("got %q", l)
	}
	io.WriteString(c, "body")
	if _, body := readResp(t, br, "POST"); body != "body" {
		t.Fatalf("body %q", body)
	}

	// A handler that does not read the body gets no 100 Continue sent and
	// the connection is closed, since the client may or may not send it.
	c2 := dial(t, addr)
	io.WriteString(c2, "POST /reject HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n")
	resp, _ := readResp(t, bufio.NewReader(c2), "POST")
	if resp.StatusCode != 403 || !resp.Close {
		t.Fatalf("status %d close %v", resp.StatusCode, resp.Close)
	}
}

func TestBodylessResponses(t *testing.T) {
	addr := startServer(t, &Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/204":
			w.Header().Set("Content-Length", "10")
			w.WriteHeader(204)
			if _, err := w.Write([]byte("x")); err != http.ErrBodyNotAllowed {
				t.Errorf("Write on 204: %v", err)
			}
		case "/304":
			w.WriteHeader(304)
		case "/head-cl":
			w.Header().Set("Content-Length", "1000")
		default:
			io.WriteString(w, "hello")
		}
	})})
	c := dial(t, addr)
	br := bufio.NewReader(c)
	io.WriteString(c, "HEAD / HTTP/1.1\r\nHost: a\r\n\r\nHEAD /head-cl HTTP/1.1\r\nHost: a\r\n\r\n"+
		"GET /204 HTTP/1.1\r\nHost: a\r\n\r\nGET /304 HTTP/1.1\r\nHost: a\r\n\r\nGET /last HTTP/1.1\r\nHost: a\r\n\r\n")
	var raw strings.Builder
	tee := bufio.NewReader(io.TeeReader(br, &raw))
	for _, want := range []struct {
		method string
		code   int
		cl     string
	}{{"HEAD", 200, "5"}, {"HEAD", 200, "1000"}, {"GET", 204, ""}, {"GET", 304, ""}, {"GET", 200, "5"}} {
		resp, body := readResp(t, tee, want.method)
		if resp.StatusCode != want.code || resp.Header.Get("Content-Length") != want.cl || (want.method == "HEAD" && body != "") {
			t.Fatalf("%s %d: got %d CL %q body %q", want.method, want.code, resp.StatusCode, resp.Header.Get("Content-Length"), body)
		}
		if resp.Header.Get("Transfer-Encoding") != "" || len(resp.TransferEncoding) > 0 {
			t.Fatalf("unexpected Transfer-Encoding")
		}
	}
	if !strings.HasSuffix(raw.String(), "\r\n\r\nhello") {
		t.Fatalf("stray bytes: %q", raw.String())
	}
}

func TestResponseFraming(t *testing.T) {
	big := strings.Repeat("x", 10000)
	addr := startServer(t, &Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/small":
			io.WriteString(w, "a")
			io.WriteString(w, "b")
		case "/big":
			io.WriteString(w, big)
		case "/cl":
			w.Header().Set("Content-Length", strconv.Itoa(len(big)))
			io.WriteString(w, big)
		case "/cl-over":
			w.Header().Set("Content-Length", "3")
			if _, err := io.WriteString(w, "abcd"); err != http.ErrContentLength {
				t.Errorf("overlong write: %v", err)
			}
			io.WriteString(w, "abc")
		case "/cl-short":
			w.Header().Set("Content-Length", "10")
			io.WriteString(w, "abc")
		case "/flushed":
			io.WriteString(w, "a")
			w.(http.Flusher).Flush()
		case "/conn-close":
			w.Header().Set("Connection", "close")
			io.WriteString(w, "bye")
		}
	})})
	tests := []struct {
		path    string
		proto   string
		cl      int64
		chunked bool
		close   bool
		body    string
	}{
		{"/small", "1.1", 2, false, false, "ab"},
		{"/big", "1.1", -1, true, false, big},
		{"/cl", "1.1", int64(len(big)), false, false, big},
		{"/cl-over", "1.1", 3, false, false, "abc"},
		{"/flushed", "1.1", -1, true, false, "a"},
		{"/conn-close", "1.1", 3, false, true, "bye"},
		{"/big", "1.0", -1, false, true, big},
		{"/small", "1.0", 2, false, true, "ab"},
	}
	for _, tt := range tests {
		t.Run(tt.path+"/"+tt.proto, func(t *testing.T) {
			c := dial(t, addr)
			fmt.Fprintf(c, "GET %s HTTP/%s\r\nHost: a\r\n\r\n", tt.path, tt.proto)
			resp, body := readResp(t, bufio.NewReader(c), "GET")
			chunked := len(resp.TransferEncoding) > 0
			if resp.ContentLength != tt.cl || chunked != tt.chunked || resp.Close != tt.close || body != tt.body {
				t.Fatalf("CL %d chunked %v close %v body %.20q", resp.ContentLength, chunked, resp.Close, body)
			}
		})
	}
	t.Run("short body closes", func(t *testing.T) {
		resp := exchange(t, addr, "GET /cl-short HTTP/1.1\r\nHost: a\r\n\r\nGET /small HTTP/1.1\r\nHost: a\r\n\r\n")
		if !strings.HasSuffix(resp, "\r\n\r\nabc") {
			t.Fatalf("response %q", resp)
		}
	})
	t.Run("HTTP/1.0 keep-alive", func(t *testing.T) {
		c := dial(t, addr)
		br := bufio.NewReader(c)
		for i := 0; i < 2; i++ {
			io.WriteString(c, "GET /small HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
			resp, body := readResp(t, br, "GET")
			if body != "ab" || resp.Header.Get("Connection") != "keep-alive" {
				t.Fatalf("body %q header %v", body, resp.Header)
			}
		}
	})
}

func TestResponseTrailers(t *testing.T) {
	addr := startServer(t, &Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Trailer", "X-Declared")
		io.WriteString(w, "body")
		w.Header().Set("X-Declared", "d")
		w.Header().Set(http.TrailerPrefix+"X-Late", "l")
	})})
	c := dial(t, addr)
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	resp, body := readResp(t, bufio.NewReader(c), "GET")
	if body != "body" || len(resp.TransferEncoding) == 0 {
		t.Fatalf("body %q TE %v", body, resp.TransferEncoding)
	}
	if resp.Trailer.Get("X-Declared") != "d" || resp.Trailer.Get("X-Late") != "l" {
		t.Fatalf("trailers %v", resp.Trailer)
	}
}

func TestFlushStreaming(t *testing.T) {
	release := make(chan struct{})
	addr := startServer(t, &Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "first")
		if err := http.NewResponseController(w).Flush(); err != nil {
			t.Error(err)
		}
		<-release
		io.WriteString(w, "second")
	})})
	c := dial(t, addr)
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 5)
	if _, err := io.ReadFull(resp.Body, buf); err != nil || string(buf) != "first" {
		t.Fatalf("got %q %v before the handler returned", buf, err)
	}
	close(release)
	rest, _ := io.ReadAll(resp.Body)
	if string(rest) != "second" {
		t.Fatalf("rest %q", rest)
	}
}

func TestHijack(t *testing.T) {
	states := make(chan http.ConnState, 10)
	addr := startServer(t, &Server{
		ConnState: func(_ net.Conn, st http.ConnState) { states <- st },
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			conn, rw, err := w.(http.Hijacker).Hijack()
			if err != nil {
				t.Error(err)
				return
			}
			defer conn.Close()
			io.WriteString(rw, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n")
			rw.Flush()
			// Echo lines; the first was sent with the request and is already
			// in rw.Reader.
			for {
				line, err := rw.ReadString('\n')
				if err != nil {
					return
				}
				io.WriteString(rw, "echo: "+line)
				rw.Flush()
			}
		}),
	})
	c := dial(t, addr)
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: a\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\npre-read\n")
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 101 {
		t.Fatalf("%v %v", resp, err)
	}
	if line, _ := br.ReadString('\n'); line != "echo: pre-read\n" {
		t.Fatalf("got %q", line)
	}
	io.WriteString(c, "later\n")
	if line, _ := br.ReadString('\n'); line != "echo: later\n" {
		t.Fatalf("got %q", line)
	}
	want := []http.ConnState{http.StateNew, http.StateActive, http.StateHijacked}
	for _, w := range want {
		if st := <-states; st != w {
			t.Fatalf("state %v, want %v", st, w)
		}
	}
}

func TestTimeouts(t *testing.T) {
	t.Run("ReadHeaderTimeout closes a silent connection", func(t *testing.T) {
		addr := startServer(t, &Server{Handler: &countingHandler{}, ReadHeaderTimeout: 100 * time.Millisecond})
		c := dial(t, addr)
		start := time.Now()
		n, err := c.Read(make([]byte, 1))
		if n != 0 || err != io.EOF || time.Since(start) > 2*time.Second {
			t.Fatalf("n %d err %v after %v", n, err, time.Since(start))
		}
	})
	t.Run("ReadHeaderTimeout on a partial head", func(t *testing.T) {
		h := &countingHandler{}
		addr := startServer(t, &Server{Handler: h, ReadHeaderTimeout: 100 * time.Millisecond})
		c := dial(t, addr)
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: a\r\n")
		b, _ := io.ReadAll(c)
		if len(b) != 0 || h.calls.Load() != 0 {
			t.Fatalf("got %q", b)
		}
	})
	t.Run("IdleTimeout", func(t *testing.T) {
		addr := startServer(t, &Server{Handler: &countingHandler{}, IdleTimeout: 150 * time.Millisecond, ReadTimeout: 5 * time.Second})
		c := dial(t, addr)
		br := bufio.NewReader(c)
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
		readResp(t, br, "GET")
		start := time.Now()
		if _, err := br.ReadByte(); err != io.EOF {
			t.Fatalf("err %v", err)
		}
		if d := time.Since(start); d < 100*time.Millisecond || d > 2*time.Second {
			t.Fatalf("closed after %v", d)
		}
	})
	t.Run("ReadTimeout covers the body", func(t *testing.T) {
		errc := make(chan error, 1)
		addr := startServer(t, &Server{ReadTimeout: 150 * time.Millisecond, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, err := io.ReadAll(r.Body)
			errc <- err
		})})
		c := dial(t, addr)
		io.WriteString(c, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc")
		if err := <-errc; err == nil {
			t.Fatal("body read did not time out")
		}
	})
}

func TestShutdown(t *testing.T) {
	inHandler := make(chan struct{})
	release := make(chan struct{})
	s := &Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			close(inHandler)
			<-release
		}
		io.WriteString(w, "done")
	})}
	addr := startServer(t, s)

	idle := dial(t, addr)
	idleBR := bufio.NewReader(idle)
	io.WriteString(idle, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	readResp(t, idleBR, "GET")

	busy := dial(t, addr)
	io.WriteString(busy, "GET /slow HTTP/1.1\r\nHost: a\r\n\r\n")
	<-inHandler

	done := make(chan error, 1)
	go func() { done <- s.Shutdown(context.Background()) }()

	// The idle connection is closed at once.
	idle.SetReadDeadline(time.Now().Add(time.Second))
	if _, err := idleBR.ReadByte(); err != io.EOF {
		t.Fatalf("idle conn: %v", err)
	}
	select {
	case err := <-done:
		t.Fatalf("Shutdown returned %v with a request in flight", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	resp, body := readResp(t, bufio.NewReader(busy), "GET")
	if body != "done" || !resp.Close {
		t.Fatalf("body %q close %v", body, resp.Close)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := net.Dial("tcp", addr); err == nil {
		t.Fatal("listener still open")
	}
}

func TestShutdownTimeout(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	in := make(chan struct{})
	s := &Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(in)
		<-release
	})}
	addr := startServer(t, s)
	c := dial(t, addr)
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	<-in
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := s.Shutdown(ctx); err != context.DeadlineExceeded {
		t.Fatalf("Shutdown: %v", err)
	}
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Fatal("connection not closed")
	}
}

func TestPanicRecovery(t *testing.T) {
	core, logs := observer.New(zap.ErrorLevel)
	addr := startServer(t, &Server{Logger: zap.New(core), Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/panic":
			panic("boom")
		case "/abort":
			io.WriteString(w, "partial")
			w.(http.Flusher).Flush()
			panic(http.ErrAbortHandler)
		}
		io.WriteString(w, "ok")
	})})
	if resp := exchange(t, addr, "GET /panic HTTP/1.1\r\nHost: a\r\n\r\n"); resp != "" {
		t.Fatalf("response to a panic: %q", resp)
	}
	if resp := exchange(t, addr, "GET /abort HTTP/1.1\r\nHost: a\r\n\r\n"); strings.Contains(resp, "0\r\n\r\n") {
		t.Fatalf("aborted response was terminated: %q", resp)
	}
	if resp := exchange(t, addr, "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"); !strings.HasSuffix(resp, "ok") {
		t.Fatalf("server broken after panic: %q", resp)
	}
	entries := logs.All()
	if len(entries) != 1 || !strings.Contains(fmt.Sprint(entries[0].ContextMap()["panic"]), "boom") {
		t.Fatalf("log entries: %v", entries)
	}
}

func TestClientDisconnectCancelsContext(t *testing.T) {
	cancelled := make(chan time.Duration, 1)
	addr := startServer(t, &Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		select {
		case <-r.Context().Done():
			cancelled <- time.Since(start)
		case <-time.After(3 * time.Second):
			cancelled <- -1
		}
	})})
	c := dial(t, addr)
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	time.Sleep(20 * time.Millisecond)
	c.Close()
	if d := <-cancelled; d < 0 || d > time.Second {
		t.Fatalf("context cancelled after %v", d)
	}
}

func TestContextCancelledAfterHandler(t *testing.T) {
	ctxs := make(chan context.Context, 1)
	type key struct{}
	base := context.WithValue(context.Background(), key{}, "base")
	addr := startServer(t, &Server{BaseContext: base, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Context().Value(key{}) != "base" {
			t.Error("BaseContext is not the parent")
		}
		ctxs <- r.Context()
	})})
	exchange(t, addr, "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
	ctx := <-ctxs
	select {
	case <-ctx.Done():
	case <-time.After(time.Second):
		t.Fatal("request context not cancelled after the handler returned")
	}
}

func TestUnreadBody(t *testing.T) {
	addr := startServer(t, &Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.URL.Path)
	})})
	// A small unread body is discarded and the connection kept.
	c := dial(t, addr)
	br := bufio.NewReader(c)
	io.WriteString(c, "POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhelloPOST /b HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\nGET /c HTTP/1.1\r\nHost: a\r\n\r\n")
	for _, want := range []string{"/a", "/b", "/c"} {
		resp, body := readResp(t, br, "GET")
		if body != want || resp.Close {
			t.Fatalf("body %q close %v", body, resp.Close)
		}
	}
	// A large one closes the connection.
	c2 := dial(t, addr)
	go func() {
		io.WriteString(c2, "POST /big HTTP/1.1\r\nHost: a\r\nContent-Length: 10000000\r\n\r\n")
		c2.Write(make([]byte, 1<<20))
	}()
	resp, _ := readResp(t, bufio.NewReader(c2), "POST")
	if !resp.Close {
		t.Fatal("connection kept with a large unread body")
	}
}

func TestLargeHeaderAcrossBuffer(t *testing.T) {
	got := make(chan string, 1)
	addr := startServer(t, &Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.Header.Get("Cookie")
		b, _ := io.ReadAll(r.Body)
		w.Write(b)
	})})
	cookie := strings.Repeat("c", 20000)
	c := dial(t, addr)
	io.WriteString(c, "POST / HTTP/1.1\r\nHost: a\r\nCookie: "+cookie+"\r\nContent-Length: 4\r\n\r\nbody")
	_, body := readResp(t, bufio.NewReader(c), "POST")
	if <-got != cookie || body != "body" {
		t.Fatalf("cookie or body mangled: %q", body)
	}
}

func TestMaxKeepAliveRequests(t *testing.T) {
	addr := startServer(t, &Server{Handler: &countingHandler{}, MaxKeepAliveRequests: 2})
	resp := exchange(t, addr, strings.Repeat("GET / HTTP/1.1\r\nHost: a\r\n\r\n", 3))
	if n := strings.Count(resp, "HTTP/1.1 200"); n != 2 || !strings.Contains(resp, "Connection: close") {
		t.Fatalf("%d responses: %q", n, resp)
	}
}

func TestInformational(t *testing.T) {
	addr := startServer(t, &Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</a.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		w.WriteHeader(http.StatusCreated)
		w.WriteHeader(http.StatusTeapot) // ignored
		io.WriteString(w, "x")
	})})
	resp := exchange(t, addr, "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
	if !strings.HasPrefix(resp, "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\nHTTP/1.1 201 Created\r\n") {
		t.Fatalf("response %q", resp)
	}
}

func TestTLS(t *testing.T) {
	cert := selfSigned(t)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS == nil || !r.TLS.HandshakeComplete {
			t.Error("req.TLS not set")
		}
		io.WriteString(w, "secure")
	})}
	go s.Serve(ln)
	defer s.Shutdown(context.Background())
	c, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	if _, body := readResp(t, bufio.NewReader(c), "GET"); body != "secure" {
		t.Fatalf("body %q", body)
	}
}

func selfSigned(t *testing.T) tls.Certificate {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// TestConcurrentClients exercises the connection pool and the watchdog under
// the race detector.
func TestConcurrentClients(t *testing.T) {
	addr := startServer(t, &Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if r.URL.Path == "/slow" {
			time.Sleep(120 * time.Millisecond)
		}
		w.Write(b)
	})})
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Error(err)
				return
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(10 * time.Second))
			br := bufio.NewReader(c)
			for j := 0; j < 20; j++ {
				path := "/"
				if j%10 == 0 {
					path = "/slow"
				}
				msg := fmt.Sprintf("%d-%d", i, j)
				fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n%s", path, len(msg), msg)
				resp, err := http.ReadResponse(br, nil)
				if err != nil {
					t.Error(err)
					return
				}
				b, _ := io.ReadAll(resp.Body)
				if string(b) != msg {
					t.Errorf("got %q want %q", b, msg)
					return
				}
			}
		}(i)
	}
	wg.Wait()
}

func TestWireHelpers(t *testing.T) {
	for _, tt := range []struct {
		s    string
		name bool
		val  bool
	}{
		{"Content-Type", true, true},
		{"", false, true},
		{"a b", false, true},
		{"a\tb", false, true},
		{"a:b", false, true},
		{"x\x00", false, false},
		{"é", false, true},
		{"a\r\nb", false, false},
	} {
		if ValidHeaderName([]byte(tt.s)) != tt.name || ValidHeaderValue([]byte(tt.s)) != tt.val {
			t.Errorf("%q: name %v value %v", tt.s, ValidHeaderName([]byte(tt.s)), ValidHeaderValue([]byte(tt.s)))
		}
	}
	br := bufio.NewReader(strings.NewReader("3;a=b\r\nabc\r\n0\r\nX-T: v\r\n\r\nrest"))
	r := NewChunkedReader(br, 64)
	b, err := io.ReadAll(r)
	if err != nil || string(b) != "abc" || r.(*ChunkedReader).Trailer().Get("X-T") != "v" {
		t.Fatalf("%q %v %v", b, err, r.(*ChunkedReader).Trailer())
	}
	if rest, _ := io.ReadAll(br); string(rest) != "rest" {
		t.Fatalf("reader overran the body: %q", rest)
	}
	var sb strings.Builder
	bw := bufio.NewWriter(&sb)
	WriteChunk(bw, []byte("hello"))
	WriteLastChunk(bw, http.Header{"X-A": {"1\r\n2"}})
	bw.Flush()
	if sb.String() != "5\r\nhello\r\n0\r\nX-A: 1  2\r\n\r\n" {
		t.Fatalf("%q", sb.String())
	}
}
