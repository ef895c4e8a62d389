package h1

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// memConn is a net.Conn that reads a fixed input and discards its output.
type memConn struct {
	r   io.Reader
	out bytes.Buffer
}

func (c *memConn) Read(p []byte) (int, error)         { return c.r.Read(p) }
func (c *memConn) Write(p []byte) (int, error)        { return c.out.Write(p) }
func (c *memConn) Close() error                       { return nil }
func (c *memConn) LocalAddr() net.Addr                { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 80} }
func (c *memConn) RemoteAddr() net.Addr               { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1234} }
func (c *memConn) SetDeadline(t time.Time) error      { return nil }
func (c *memConn) SetReadDeadline(t time.Time) error  { return nil }
func (c *memConn) SetWriteDeadline(t time.Time) error { return nil }

// firstHeadHasCLandTE reports whether the first request head in b names both
// Content-Length and Transfer-Encoding fields.
func firstHeadHasCLandTE(b []byte) bool {
	head, _, _ := bytes.Cut(b, []byte("\r\n\r\n"))
	h := strings.ToLower(string(head))
	return strings.Contains(h, "\ncontent-length:") && strings.Contains(h, "\ntransfer-encoding:")
}

func FuzzReadRequest(f *testing.F) {
	for _, s := range []string{
		"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET /a?b HTTP/1.0\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabcGET / HTTP/1.1\r\nHost: a\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTrailer: X\r\n\r\n3;e=\"q\"\r\nabc\r\n0\r\nX: y\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\nx",
		"GET http://h/p HTTP/1.1\r\nHost: a\r\nX: y\r\n z\r\n\r\n",
		"OPTIONS * HTTP/1.1\r\nHost: [::1]:8\r\n\r\n",
		"HEAD / HTTP/1.1\r\nhost: a\r\nconnection: close\r\n\r\n",
		"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		calls := 0
		s := &Server{MaxHeaderBytes: 8 << 10, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			calls++
			if r.Header.Get("Content-Length") != "" && r.TransferEncoding != nil {
				t.Fatalf("handler called with Content-Length and Transfer-Encoding")
			}
			if (r.ContentLength < 0) != (r.TransferEncoding != nil) {
				t.Fatalf("ContentLength %d with TransferEncoding %v", r.ContentLength, r.TransferEncoding)
			}
			if r.ProtoMajor != 1 || r.ProtoMinor > 1 || r.URL == nil {
				t.Fatalf("bad request %+v", r)
			}
			for k, vv := range r.Header {
				if !ValidHeaderName([]byte(k)) {
					t.Fatalf("invalid name %q", k)
				}
				for _, v := range vv {
					if !ValidHeaderValue([]byte(v)) {
						t.Fatalf("invalid value %q", v)
					}
				}
			}
			io.Copy(io.Discard, r.Body)
			w.Header().Set("X-Echo", r.Header.Get("X-Echo"))
			io.WriteString(w, r.RequestURI)
		})}
		c := &memConn{r: bytes.NewReader(in)}
		s.ServeConn(c)
		if calls > 0 && firstHeadHasCLandTE(in) {
			t.Fatalf("handler called for a request with Content-Length and Transfer-Encoding")
		}
	})
}
