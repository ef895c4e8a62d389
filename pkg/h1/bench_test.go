package h1

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

// cpuTime is the process's user+system CPU time: wall time per request
// mostly measures loopback scheduling latency, CPU time what serving costs.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

var (
	helloBody = []byte("Hello, World!")
	helloCT   = []string{"text/plain; charset=utf-8"}
)

func helloHandler(w http.ResponseWriter, r *http.Request) {
	w.Header()["Content-Type"] = helloCT
	w.Write(helloBody)
}

const benchRequest = "GET /hello?x=1 HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: bench/1.0\r\nAccept: */*\r\nAccept-Encoding: gzip\r\n\r\n"

// readResponse reads one Content-Length-framed response without allocating.
func readResponse(br *bufio.Reader) error {
	cl := -1
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return err
		}
		if len(line) == 2 {
			break
		}
		if len(line) > 16 && bytes.EqualFold(line[:16], []byte("content-length: ")) {
			n, err := strconv.Atoi(string(bytes.TrimSpace(line[16:])))
			if err != nil {
				return err
			}
			cl = n
		}
	}
	if cl < 0 {
		return io.ErrUnexpectedEOF
	}
	_, err := br.Discard(cl)
	return err
}

type serveFunc func(ln net.Listener) (stop func())

func benchServers() map[string]serveFunc {
	return map[string]serveFunc{
		"h1": func(ln net.Listener) func() {
			s := &Server{Handler: http.HandlerFunc(helloHandler)}
			go s.Serve(ln)
			return func() { ln.Close() }
		},
		"h1-eager-bgread": func(ln net.Listener) func() {
			s := &Server{Handler: http.HandlerFunc(helloHandler), eagerBackgroundRead: true}
			go s.Serve(ln)
			return func() { ln.Close() }
		},
		"nethttp": func(ln net.Listener) func() {
			s := &http.Server{Handler: http.HandlerFunc(helloHandler)}
			go s.Serve(ln)
			return func() { s.Close() }
		},
	}
}

// BenchmarkServe compares h1.Server and net/http.Server on loopback TCP with
// keep-alive, one request at a time and 16 pipelined requests per round
// trip. ns/op and allocs/op are per request and include the (allocation-free)
// client.
func BenchmarkServe(b *testing.B) {
	for _, name := range []string{"h1", "h1-eager-bgread", "nethttp"} {
		serve := benchServers()[name]
		for _, depth := range []int{1, 16} {
			b.Run(name+"/pipeline="+strconv.Itoa(depth), func(b *testing.B) {
				ln, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					b.Fatal(err)
				}
				stop := serve(ln)
				defer stop()
				c, err := net.Dial("tcp", ln.Addr().String())
				if err != nil {
					b.Fatal(err)
				}
				defer c.Close()
				br := bufio.NewReaderSize(c, 64<<10)
				batch := bytes.Repeat([]byte(benchRequest), depth)
				b.ReportAllocs()
				b.ResetTimer()
				cpu0 := cpuTime()
				for i := 0; i < b.N; i += depth {
					if _, err := c.Write(batch); err != nil {
						b.Fatal(err)
					}
					for j := 0; j < depth; j++ {
						if err := readResponse(br); err != nil {
							b.Fatal(err)
						}
					}
				}
				b.StopTimer()
				b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
			})
		}
	}
}

// replayConn feeds the same request n times (perRead requests per Read, like
// a client that waits for each response or one that pipelines) and discards
// the responses, so that a benchmark measures the server without syscalls.
type replayConn struct {
	memConn
	mu      sync.Mutex
	req     []byte
	left    int
	perRead int
	closed  chan struct{}
	once    sync.Once
}

func (c *replayConn) Read(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.left == 0 {
		return 0, io.EOF
	}
	n := 0
	for k := 0; k < c.perRead && c.left > 0 && len(p)-n >= len(c.req); k++ {
		n += copy(p[n:], c.req)
		c.left--
	}
	return n, nil
}

func (c *replayConn) Write(p []byte) (int, error) { return len(p), nil }
func (c *replayConn) Close() error {
	c.once.Do(func() { close(c.closed) })
	return nil
}

// oneConnListener hands out one conn, then blocks until closed.
type oneConnListener struct {
	c    chan net.Conn
	done chan struct{}
}

func (l *oneConnListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.c:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}
func (l *oneConnListener) Close() error   { return nil }
func (l *oneConnListener) Addr() net.Addr { return &net.TCPAddr{} }

// BenchmarkServeConn measures the server alone on an in-memory connection.
func BenchmarkServeConn(b *testing.B) {
	for _, name := range []string{"h1", "nethttp"} {
		for _, perRead := range []int{1, 16} {
			b.Run(name+"/pipeline="+strconv.Itoa(perRead), func(b *testing.B) {
				c := &replayConn{req: []byte(benchRequest), left: b.N, perRead: perRead, closed: make(chan struct{})}
				b.ReportAllocs()
				b.ResetTimer()
				switch name {
				case "h1":
					s := &Server{Handler: http.HandlerFunc(helloHandler)}
					s.ServeConn(c)
				case "nethttp":
					s := &http.Server{Handler: http.HandlerFunc(helloHandler)}
					l := &oneConnListener{c: make(chan net.Conn, 1), done: make(chan struct{})}
					l.c <- c
					go s.Serve(l)
					<-c.closed
					close(l.done)
				}
			})
		}
	}
}
